import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { startEmbeddedPostgres } from '../core/embedded-postgres.js';
import type { ExperimentReport } from '../core/experiment-report.js';
import type { Experiment, ExperimentContext } from '../core/experiment.js';
import { freePort, waitForHttp } from '../core/net.js';
import type { BenchResult } from './bench-client.js';

/** How long each replica has to answer /readyz after it is started. */
const READY_TIMEOUT_MS = 60_000;

/**
 * The messenger's experiment for `netlab lab`: two replicas on one PostgreSQL (embedded unless
 * DATABASE_URL is set) loaded by the bench with --verify; replicas and bench are `netlab` processes
 * started through the lab's context, so the lab stops them with everything else.
 */
export const messengerExperiment: Experiment<'messenger'> = {
  name: 'messenger',
  title: 'Messenger: gap-free order across 2 replicas',
  async run(ctx: ExperimentContext): Promise<ExperimentReport> {
    const started = Date.now();
    let databaseUrl = process.env.DATABASE_URL;
    let stopDatabase = async () => {};
    if (!databaseUrl) {
      ctx.progress('starting embedded PostgreSQL');
      const embedded = await startEmbeddedPostgres({ dataDir: '.netlab/pg', logger: ctx.logger });
      databaseUrl = embedded.url;
      stopDatabase = () => embedded.stop();
      ctx.children.adopt(embedded.pid, stopDatabase);
    }
    try {
      ctx.progress('starting 2 replicas');
      const ports = [await freePort(), await freePort()];
      const replicas = ports.map((port, i) =>
        ctx.children.start(`messenger-${i + 1}`, ['messenger', '--port', String(port)], { env: { DATABASE_URL: databaseUrl }, logFile: join(ctx.dir, `messenger-${i + 1}.log`) }),
      );
      const urls = ports.map((p) => `http://127.0.0.1:${p}`);
      await Promise.all(urls.map((u) => waitForHttp(`${u}/readyz`, READY_TIMEOUT_MS, ctx.signal)));

      const requests = ctx.quick ? 20 : 100;
      ctx.progress(`bench: 50 workers x ${requests} requests`);
      const jsonFile = join(ctx.dir, 'bench.json');
      const bench = ctx.children.start('messenger-bench', ['messenger-bench', ...urls.flatMap((u) => ['--url', u]), '--workers', '50', '--requests', String(requests), '--verify', '--json', jsonFile], {
        logFile: join(ctx.dir, 'bench.log'),
      });
      const benchCode = await bench.exited;
      const stopCodes = await Promise.all(replicas.map((r) => r.stop('SIGTERM')));
      const r = JSON.parse(await readFile(jsonFile, 'utf8')) as BenchResult;
      const l = r.latencyMs;
      return {
        experiment: 'messenger',
        startedAt: new Date(started).toISOString(),
        durationSeconds: (Date.now() - started) / 1000,
        checks: [
          { name: 'the four ordering properties hold', pass: r.verify?.violations === 0, detail: r.verify?.violations ? r.verify.examples.slice(0, 3).join('; ') : `${r.ok} responses verified` },
          { name: 'every request answered', pass: r.failed === 0 && benchCode === 0, detail: `${r.ok}/${r.requests} ok, ${r.retries} retries` },
          { name: 'replicas shut down cleanly on SIGTERM', pass: stopCodes.every((c) => c === 0), detail: `exit codes ${stopCodes.join(', ')}` },
        ],
        headline: { throughput_rps: Math.round(r.throughput), p50_ms: round(l.p50), p99_ms: round(l.p99), max_ms: round(l.max) },
        files: { bench: 'bench.json', 'bench log': 'bench.log', 'replica 1 log': 'messenger-1.log', 'replica 2 log': 'messenger-2.log' },
        series: {
          'latency distribution (ms)': r.latencyHistogramMs.map((b) => ({ x: b.le === null ? 'more' : `≤${b.le}`, y: b.count })),
          'throughput per replica (req/s)': Object.values(r.perReplica).map((p, i) => ({ x: `replica ${i + 1}`, y: Math.round(p.throughput) })),
        },
      };
    } finally {
      await stopDatabase();
    }
  },
};

const round = (n: number) => Math.round(n * 100) / 100;
