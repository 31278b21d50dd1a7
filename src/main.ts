#!/usr/bin/env node
// The netlab CLI: picks the role from argv and hands over. Roles load lazily (src/commands/index.ts) so
// one role's dependencies (a broker client, LMDB) never slow down or break another.
import { COMMANDS, isCommandName } from './commands/index.js';
import { NetlabError, OptionError, UnavailableError } from './core/errors.js';
import { EXIT_BAD_USAGE, EXIT_FAILED, EXIT_UNAVAILABLE } from './core/exit-codes.js';

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((r) => r.length));
  return [
    'netlab: a lab of network services to deploy, load and observe',
    '',
    'Usage: netlab <role> [flags]      netlab <role> --help      netlab --version',
    '',
    'Roles:',
    ...Object.entries(COMMANDS).map(([name, r]) => `  ${name.padEnd(width)}  ${r.summary}`),
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
  if (!isCommandName(name)) {
    const err = new NetlabError('NETLAB_ERR_UNKNOWN_ROLE', `unknown role "${name}" (try netlab --help)`);
    process.stderr.write(`netlab: ${err.message} [${err.code}]\n`);
    process.exitCode = EXIT_BAD_USAGE;
    return;
  }
  const { runRole } = await import('./core/role.js');
  try {
    await runRole((await COMMANDS[name].load()).default, rest, process.env);
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
