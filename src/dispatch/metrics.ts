import { Counter, Gauge, Histogram, type Registry } from '../core/metrics.js';
import type { DispatchEngine, EngineObserver } from './engine.js';
import { FAILURE_REASONS, MESSAGE_STATES } from './protocol.js';

/** The dispatcher's counters and histograms, fed by the returned observer: give it to the engine when opening it. */
export function dispatcherObserver(registry: Registry): EngineObserver {
  const generated = new Counter({ name: 'netlab_dispatch_messages_generated_total', help: 'Messages generated.', registers: [registry] });
  const leases = new Counter({ name: 'netlab_dispatch_attempts_total', help: 'Attempts started (messages leased to a client).', registers: [registry] });
  const done = new Counter({ name: 'netlab_dispatch_messages_done_total', help: 'Messages reported done.', registers: [registry] });
  const failed = new Counter({
    name: 'netlab_dispatch_attempts_failed_total',
    help: 'Attempts that failed, by reason (not-reported, stream-closed, lease-expired, dispatcher-shutdown, dispatcher-restart).',
    labelNames: ['reason'],
    registers: [registry],
  });
  const dead = new Counter({ name: 'netlab_dispatch_dead_letters_total', help: 'Messages written to the dead-letter store.', registers: [registry] });
  const evicted = new Counter({
    name: 'netlab_dispatch_dead_letters_evicted_total',
    help: 'Dead letters removed, oldest first, with their message records, to keep at most --max-dead-letters.',
    registers: [registry],
  });
  const batchSeconds = new Histogram({
    name: 'netlab_dispatch_report_latency_seconds',
    help: 'Time from a batch being sent to its end: the report (reported="true"), or stream loss or lease expiry.',
    labelNames: ['reported'],
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60],
    registers: [registry],
  });
  const commitSeconds = new Histogram({
    name: 'netlab_dispatch_commit_duration_seconds',
    help: 'Time from a state change to its LMDB commit.',
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  // Every reason and both batch outcomes exist at 0 from the first scrape: rate() then has samples before
  // the first failure, and a dashboard shows 0, not "No data" (or nothing, for a series one scrape old).
  for (const reason of Object.values(FAILURE_REASONS)) failed.labels(reason).inc(0);
  for (const reported of ['true', 'false']) batchSeconds.zero({ reported });
  return {
    generated: (n) => generated.inc(n),
    leased: (n) => leases.inc(n),
    done: (n) => done.inc(n),
    failed: (reason, n) => failed.inc({ reason }, n),
    dead: (n) => dead.inc(n),
    evicted: (n) => evicted.inc(n),
    batchEnded: (seconds, reported) => batchSeconds.observe({ reported: String(reported) }, seconds),
    committed: (seconds) => commitSeconds.observe(seconds),
  };
}

/** The dispatcher's gauges, read from `engine` at each scrape: registered once the engine is open. */
export function dispatcherGauges(registry: Registry, engine: DispatchEngine): void {
  new Gauge({
    name: 'netlab_dispatch_messages',
    help: 'Messages by state (queued, leased, done, dead).',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const stats = engine.stats();
      for (const state of MESSAGE_STATES) this.set({ state }, stats[state]);
    },
  });
  new Gauge({
    name: 'netlab_dispatch_clients_connected',
    help: 'Clients with an open /task stream.',
    registers: [registry],
    collect() {
      this.set(engine.stats().clients);
    },
  });
  new Gauge({
    name: 'netlab_dispatch_clients_free',
    help: 'Connected clients without an unreported batch (waiting to be served).',
    registers: [registry],
    collect() {
      this.set(engine.stats().free);
    },
  });
  new Gauge({
    name: 'netlab_dispatch_oldest_lease_age_seconds',
    help: 'Age of the oldest open lease.',
    registers: [registry],
    collect() {
      this.set(engine.oldestLeaseSeconds());
    },
  });
  new Gauge({
    name: 'netlab_dispatch_generation_credit',
    help: 'Messages that may be generated now: --generation-credit plus done, less queued, leased and abandoned.',
    registers: [registry],
    collect() {
      this.set(engine.generationCreditLeft());
    },
  });
}
