import { EXIT_OK } from '../core/exit-codes.js';
import { opt } from '../core/options.js';
import { defineRole, defineSubCommand } from '../core/role.js';
import { printDeadLetters } from '../dispatch/dead-letters-command.js';
import { DEFAULT_ABANDONED_WINDOW_MS, DEFAULT_GENERATION_CREDIT, DEFAULT_MAX_DEAD_LETTERS } from '../dispatch/engine.js';
import { DEFAULT_MAX_BATCH, DEFAULT_PORT, PING_INTERVAL_MS } from '../dispatch/protocol.js';
import { startDispatcher } from '../dispatch/server.js';
import { isStoreError } from '../dispatch/store-errors.js';
import { summaryOf } from './index.js';

/** `--data`, shared by the dispatcher and its dead-letters subcommand. */
const data = { ...opt.string('LMDB directory holding every message and the dead letters', '.netlab/dispatch'), placeholder: 'dir', env: 'DISPATCH_DATA' };

/** A locked or damaged store: one line and its own exit code (75 locked, 65 damaged), not exit 1. */
function exitOnStoreError(err: unknown): never {
  if (!isStoreError(err)) throw err;
  process.stderr.write(`netlab dispatcher: ${err.message}\n`);
  process.exit(err.exitCode);
}

const deadLetters = defineSubCommand({
  name: 'dead-letters',
  summary: 'print every dead letter in --data as one JSON line, in id order (read-only, beside a running dispatcher too)',
  usage: 'netlab dispatcher dead-letters --data DIR',
  tool: true,
  options: { data },
  async run(o) {
    try {
      await printDeadLetters(o.data);
      return EXIT_OK;
    } catch (err) {
      exitOnStoreError(err);
    }
  },
});

export default defineRole({
  name: 'dispatcher',
  summary: summaryOf('dispatcher'),
  usage: 'netlab dispatcher [flags]      netlab dispatcher dead-letters --data DIR',
  subCommands: [deadLetters],
  options: {
    port: opt.port('HTTP port (also serves /metrics)', DEFAULT_PORT),
    host: opt.string('address to bind', '0.0.0.0'),
    data,
    backlog: { ...opt.int('most generated messages waiting unassigned (pre-generated while clients are connected)', 100, 0, 1_000_000), env: 'DISPATCH_BACKLOG' },
    lease: { ...opt.duration('how long a client may hold a batch before its attempt fails', '30s', 's', 1), env: 'DISPATCH_LEASE' },
    maxAttempts: { ...opt.int('failed attempts before a message goes to the dead letters', 3, 1, 100), env: 'DISPATCH_MAX_ATTEMPTS' },
    maxBatch: { ...opt.int('largest batchsize a client may ask for', DEFAULT_MAX_BATCH, 1, 100_000), env: 'DISPATCH_MAX_BATCH' },
    ping: { ...opt.duration('interval of the ": ping" comment on every stream', `${PING_INTERVAL_MS / 1000}s`, 's', 1), env: 'DISPATCH_PING' },
    seed: { ...opt.optionalInt('seed for the message periods (reproducible runs); random when unset'), env: 'DISPATCH_SEED' },
    generationCredit: {
      ...opt.int('messages may be generated while queued + leased + abandoned (dead, never reported) stay below this plus the done count', DEFAULT_GENERATION_CREDIT, 1, 100_000_000),
      env: 'DISPATCH_GENERATION_CREDIT',
    },
    abandonedWindow: {
      ...opt.duration('how long a message dead-lettered without a single report holds back generation', `${DEFAULT_ABANDONED_WINDOW_MS / 1000}s`, 's', 1),
      env: 'DISPATCH_ABANDONED_WINDOW',
    },
    maxDeadLetters: { ...opt.int('dead letters kept; the oldest beyond it are evicted with their message records', DEFAULT_MAX_DEAD_LETTERS, 0, 100_000_000), env: 'DISPATCH_MAX_DEAD_LETTERS' },
  },
  async run(o, context) {
    try {
      await startDispatcher(
        {
          port: o.port,
          host: o.host,
          data: o.data,
          backlog: o.backlog,
          leaseMs: o.lease,
          maxAttempts: o.maxAttempts,
          maxBatch: o.maxBatch,
          pingMs: o.ping,
          seed: o.seed,
          generationCredit: o.generationCredit,
          maxDeadLetters: o.maxDeadLetters,
          abandonedWindowMs: o.abandonedWindow,
        },
        context,
      );
      return undefined;
    } catch (err) {
      exitOnStoreError(err);
    }
  },
});
