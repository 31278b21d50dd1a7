import { opt } from '../core/options.js';
import { defineRole } from '../core/role.js';
import { runDispatchLab } from '../dispatch/lab.js';
import { summaryOf } from './index.js';

export default defineRole({
  name: 'dispatch-lab',
  summary: summaryOf('dispatch-lab'),
  options: {
    workers: opt.int('worker processes', 50, 1, 1000),
    duration: opt.duration('how long the workers run', '60s', 's', 1000),
    timeScale: opt.number('multiplies each task sleep (0.05 runs 20x faster)', 1, 0, 1000),
    lease: opt.duration('lease of the dispatcher', '10s', 's', 1),
    dispatcherKills: opt.int('times the dispatcher is SIGKILLed mid-run and restarted on the same store', 1, 0, 100),
    restartDelay: opt.duration('pause before a worker that exited is started again', '200ms', 'ms'),
    data: opt.optionalString('keep the LMDB store in this directory (default: a temporary one, removed after)', 'dir'),
    report: opt.optionalString('write an ExperimentReport (JSON) to this file for `netlab lab`', 'file'),
    seed: opt.optionalInt('seed for periods and batch sizes (reproducible runs)'),
  },
  async run(o, context) {
    return runDispatchLab(
      { workers: o.workers, durationMs: o.duration, timeScale: o.timeScale, leaseMs: o.lease, dispatcherKills: o.dispatcherKills, restartDelayMs: o.restartDelay, data: o.data, report: o.report, seed: o.seed },
      context,
    );
  },
});
