import { opt } from '../core/options.js';
import { defineRole } from '../core/role.js';
import { runEchoBench } from '../echo/bench/bench-runner.js';
import { defaultLoadSplit } from '../echo/bench/generator-pool.js';
import { MAX_MESSAGE_BYTES } from '../echo/bench/message.js';
import { ECHO_MODELS } from '../echo/models.js';
import { summaryOf } from './index.js';

const split = defaultLoadSplit();

export default defineRole({
  name: 'echo-bench',
  summary: summaryOf('echo-bench'),
  options: {
    models: opt.list('netlab models to measure', ECHO_MODELS, ECHO_MODELS),
    sizes: opt.intList('message sizes in bytes', [64, 1024, 16384], 1, MAX_MESSAGE_BYTES),
    connections: opt.intList('concurrent connections per cell, one request outstanding each', [1, 50, 500], 1, 20_000),
    duration: opt.duration('measurement window per cell', '10s', 's', 50),
    warmup: opt.duration('load before each window that is not measured', '500ms', 'ms'),
    out: opt.string('directory for results.json, results.png, results.svg and index.html', '.netlab/echo-bench'),
    baseline: opt.choice('also measure the exercise\'s servers under the same generator (python: threaded and asyncio, needs python3)', ['none', 'python'], 'none'),
    python: opt.string('Python interpreter for --baseline python', 'python3'),
    workers: opt.int('workers of the cluster and threads models (default: the cores the generators leave)', split.workers, 1, 256),
    generators: opt.int('load-generator processes (default: half the cores)', split.generators, 1, 64),
    idleConnections: opt.int('after the grid, hold this many idle connections on the loop model and report RSS per connection (0 = skip)', 0, 0, 60_000),
    host: opt.string('address the servers under test bind and the load goes to', '127.0.0.1'),
    requestTimeout: opt.duration('an echo not complete after this long counts as an error', '10s', 's', 1),
    report: opt.optionalString('write an ExperimentReport (JSON) for netlab lab to this file', 'file'),
  },
  async run(o, context) {
    return runEchoBench(
      {
        models: o.models,
        sizes: o.sizes,
        connections: o.connections,
        durationMs: o.duration,
        warmupMs: o.warmup,
        outDir: o.out,
        baseline: o.baseline,
        python: o.python,
        workers: o.workers,
        generators: o.generators,
        idleConnections: o.idleConnections,
        host: o.host,
        requestTimeoutMs: o.requestTimeout,
        report: o.report,
      },
      context,
    );
  },
});
