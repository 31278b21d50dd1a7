#!/usr/bin/env node
// The netlab CLI: picks the role from argv and hands over. Roles load lazily so one role's
// dependencies (a broker client, LMDB) never slow down or break another.
import { NetlabError, OptionError, UnavailableError } from './core/errors.js';
import { EXIT_BAD_USAGE, EXIT_FAILED, EXIT_UNAVAILABLE } from './core/exit-codes.js';
import type { Role } from './core/role.js';

type RoleModule = { default: Role<any> };

const ROLES: Record<string, { summary: string; load: () => Promise<RoleModule> }> = {
  messenger: { summary: 'HTTP chat store on PostgreSQL with gap-free global order', load: () => import('./commands/messenger.js') },
  'messenger-bench': { summary: 'load and verify messenger replicas (the exercise client)', load: () => import('./commands/messenger-bench.js') },
  dispatcher: { summary: 'SSE work dispatcher: leases, 3 attempts, LMDB dead letters, nothing lost across crashes', load: () => import('./commands/dispatcher.js') },
  worker: { summary: 'dispatcher client: sleeps each period, panics over 800, exits over 900, reports', load: () => import('./commands/worker.js') },
  'dispatch-lab': { summary: 'dispatcher plus chaotic worker processes and a SIGKILL; checks the final accounting', load: () => import('./commands/dispatch-lab.js') },
  'pingpong-server': { summary: 'TCP ping-pong server: PONG after a random delay, 10% ignored, keepalives', load: () => import('./commands/pingpong-server.js') },
  'pingpong-client': { summary: 'TCP ping-pong client (or N of them): PINGs, pairing by n, timeouts, reconnects', load: () => import('./commands/pingpong-client.js') },
  pingpong: { summary: 'run a ping-pong server and clients as processes (the exercise run.py), check the logs', load: () => import('./commands/pingpong.js') },
  tick: { summary: 'drift-free ticks with a peer over NATS or RabbitMQ: one-way dt, RTT/2, loss', load: () => import('./commands/tick.js') },
  'tick-lab': { summary: 'run app1/app2 tick pairs over each bus and write an experiment report', load: () => import('./commands/tick-lab.js') },
  'echo-server': { summary: 'TCP echo under a concurrency model (loop | cluster | threads)', load: () => import('./commands/echo-server.js') },
  lab: { summary: 'run every experiment on this machine as real processes and write one report', load: () => import('./commands/lab.js') },
  'echo-bench': { summary: 'closed-loop load on the echo models (+ Python baselines): JSON, PNG chart, HTML', load: () => import('./commands/echo-bench.js') },

};

function usage(): string {
  const width = Math.max(...Object.keys(ROLES).map((r) => r.length));
  return [
    'netlab: a lab of network services to deploy, load and observe',
    '',
    'Usage: netlab <role> [flags]      netlab <role> --help      netlab --version',
    '',
    'Roles:',
    ...Object.entries(ROLES).map(([name, r]) => `  ${name.padEnd(width)}  ${r.summary}`),
    '',
  ].join('\n');
}

async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage());
    return;
  }
  if (name === '--version' || name === '-V' || name === 'version') {
    const { NETLAB_VERSION } = await import('./core/version.js');
    process.stdout.write(`netlab ${NETLAB_VERSION}\n`);
    return;
  }
  const entry = ROLES[name];
  if (!entry) {
    const err = new NetlabError('NETLAB_ERR_UNKNOWN_ROLE', `unknown role "${name}" (try netlab --help)`);
    process.stderr.write(`netlab: ${err.message} [${err.code}]\n`);
    process.exitCode = EXIT_BAD_USAGE;
    return;
  }
  const { runRole } = await import('./core/role.js');
  try {
    await runRole((await entry.load()).default, rest, process.env);
  } catch (err) {
    if (err instanceof OptionError) {
      for (const line of err.message.split('\n')) process.stderr.write(`netlab ${name}: ${line}\n`);
      process.exit(EXIT_BAD_USAGE);
    }
    // A port in use or not permitted, or a facility the system lacks: the command is right, the machine is not.
    const code = (err as NodeJS.ErrnoException).code;
    if (err instanceof UnavailableError || code === 'EADDRINUSE' || code === 'EACCES') {
      process.stderr.write(`netlab ${name}: ${(err as Error).message}\n`);
      process.exit(EXIT_UNAVAILABLE);
    }
    const message = err instanceof NetlabError || err instanceof Error ? err.message : String(err);
    process.stderr.write(`netlab ${name}: ${message}\n`);
    process.exit(EXIT_FAILED);
  }
}

await main(process.argv.slice(2));
