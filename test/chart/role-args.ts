/**
 * Puts each netlab container's command line through netlab's own option parser (the role's specs plus
 * the common ones, exactly as `runRole` does), so the chart can pass only flags and env values the
 * roles accept, and sets no env variable that no option reads.
 */
import { OptionError } from '../../src/core/errors.js';
import { envName, parseOptions } from '../../src/core/options.js';
import { commonOptions, resolveCommand, type Role } from '../../src/core/role.js';
import type { K8sObject } from './helm.js';
import { podOf } from './manifest-checks.js';

/** Env variables the chart sets that are no role's option: Node's, and the passwords spliced into URLs. */
const CHART_ENV = new Set(['NODE_ENV', 'NETLAB_PG_PASSWORD', 'NETLAB_AMQP_PASSWORD']);

/** Stand-ins for Secret values, by key, shaped like what the real Secret holds. */
const SECRET_STAND_INS: Record<string, string> = {
  password: 'pw',
  DATABASE_URL: 'postgres://netlab:pw@db:5432/netlab',
  AMQP_URL: 'amqp://netlab:pw@broker:5672',
  url: 'amqp://netlab:pw@broker:5672',
};

export interface RoleCommand {
  where: string;
  role: string;
  args: string[];
  env: Record<string, string>;
}

/** The netlab containers (image of the chart's repository, role as the first argument). */
export function roleCommands(objects: K8sObject[], imageRepository = 'netlab'): RoleCommand[] {
  const found: RoleCommand[] = [];
  for (const o of objects) {
    const pod = podOf(o);
    if (!pod) continue;
    for (const c of [...(pod.spec.initContainers ?? []), ...pod.spec.containers]) {
      if (!String(c.image).startsWith(`${imageRepository}:`) || c.command) continue;
      const env: Record<string, string> = {};
      for (const e of c.env ?? []) {
        const key = e.valueFrom?.secretKeyRef?.key;
        const value = key !== undefined ? (SECRET_STAND_INS[key] ?? 'x') : e.valueFrom ? 'x' : String(e.value ?? '');
        // The kubelet's $(VAR) expansion, from the variables defined before this one.
        env[e.name] = value.replace(/\$\((\w+)\)/g, (_, name: string) => env[name] ?? '');
      }
      found.push({ where: `${o.kind}/${o.metadata.name} container ${c.name}`, role: c.args[0], args: c.args.slice(1), env });
    }
  }
  return found;
}

const roles = new Map<string, Promise<Role>>();
/** The role as `netlab <role>` loads it: src/commands/<role>.ts. */
function loadRole(name: string): Promise<Role> {
  let role = roles.get(name);
  if (!role) {
    role = import(`../../src/commands/${name}.ts`).then((m: { default: Role }) => m.default);
    roles.set(name, role);
  }
  return role;
}

/** Problems with one container's command line, as the role's own parser sees them. */
export async function checkRoleCommand(cmd: RoleCommand): Promise<string[]> {
  let role: Role;
  try {
    role = await loadRole(cmd.role);
  } catch {
    return [`${cmd.where}: "${cmd.role}" is no netlab role`];
  }
  if (role.name !== cmd.role) return [`${cmd.where}: "${cmd.role}" is no netlab role`];
  const problems: string[] = [];
  // A subcommand (`dispatcher dead-letters`) is parsed with its own flags, as `netlab` does.
  let resolved: ReturnType<typeof resolveCommand>;
  try {
    resolved = resolveCommand(role, cmd.args);
  } catch (err) {
    if (!(err instanceof OptionError)) throw err;
    return [`${cmd.where}: ${err.message}`];
  }
  const specs = { ...resolved.command.options, ...commonOptions };
  const read = new Set(Object.entries(specs).map(([key, spec]) => envName(key, spec)));
  for (const name of Object.keys(cmd.env)) {
    if (!read.has(name) && !CHART_ENV.has(name)) problems.push(`${cmd.where}: env ${name} is read by no option of netlab ${cmd.role}`);
  }
  try {
    const parsed = parseOptions(specs, resolved.argv, cmd.env);
    if (parsed.help) problems.push(`${cmd.where}: passes --help`);
    if (parsed.positionals.length) problems.push(`${cmd.where}: passes positional arguments ${parsed.positionals.join(' ')}`);
  } catch (err) {
    if (!(err instanceof OptionError)) throw err;
    for (const line of err.message.split('\n')) problems.push(`${cmd.where}: ${line}`);
  }
  return problems;
}
