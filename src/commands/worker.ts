import { z } from 'zod';
import { opt } from '../core/options.js';
import { defineRole } from '../core/role.js';
import { DEFAULT_PORT } from '../dispatch/protocol.js';
import { runWorkerCommand } from '../dispatch/worker-command.js';
import { summaryOf } from './index.js';

export default defineRole({
  name: 'worker',
  summary: summaryOf('worker'),
  options: {
    url: { ...opt.url('dispatcher base URL', ['http:', 'https:'], `http://127.0.0.1:${DEFAULT_PORT}`), env: 'DISPATCHER_URL' },
    batchsize: { ...opt.optionalInt('messages per batch (1..1000); random in 2..10 when unset', 1, 1000), env: 'WORKER_BATCHSIZE' },
    timeScale: opt.number('multiplies each task sleep (0 = no sleep)', 1, 0, 1000),
    exitRule: { ...opt.switch('a period over 900 ends the worker (--no-exit-rule: it only panics; for load tests)'), schema: z.boolean({ error: 'expected true or false' }).default(true), shownDefault: 'on', env: 'WORKER_EXIT_RULE' },
    count: { ...opt.int('workers in this process; above 1 a worker that exits is replaced in-process (load tests)', 1, 1, 100_000), env: 'WORKER_COUNT' },
    respawn: { ...opt.switch('replace a worker that exits by the >900 rule inside this process, also with --count 1 (a Kubernetes pod that must not crash-loop)'), env: 'WORKER_RESPAWN' },
    duration: { ...opt.duration('stop after this long; 0 = until SIGTERM', '0', 's'), env: 'WORKER_DURATION' },
    seed: { ...opt.optionalInt('seed for the random batch size (reproducible runs)'), env: 'WORKER_SEED' },
  },
  async run(o, context) {
    return runWorkerCommand({ url: o.url, batchsize: o.batchsize, timeScale: o.timeScale, exitRule: o.exitRule, count: o.count, respawn: o.respawn, durationMs: o.duration, seed: o.seed }, context);
  },
});
