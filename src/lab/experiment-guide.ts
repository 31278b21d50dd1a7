/**
 * What the report tells a reader about each experiment: what it does, what to look for, what its
 * headline numbers mean (units, the design's target, the exercise's baseline) and how to chart its
 * series. The numbers come from the experiment's own report; the words live here, beside the lab,
 * so that a capability reports data and never layout.
 */
import type { ExperimentName } from './experiment.js';

export interface FigureGuide {
  /** The headline key, or a pattern whose first group names the variant (`rps_(.+)` -> "loop"). */
  key: string | RegExp;
  label: (variant: string) => string;
  unit?: string;
  target?: (variant: string) => string | undefined;
  reference?: (variant: string) => string | undefined;
  /** Shown as it is, without thousands separators (a seed, an id). */
  plain?: boolean;
}

export interface ChartGuide {
  /** The series drawn together, on one scale; the first group of the pattern names each in the legend. */
  series: RegExp;
  title: string;
  x: string;
  y: string;
  legend?: string;
  /** Legend names for the pattern's first group. */
  names?: Record<string, string>;
  /** Mark the report's events (kills, outages) on this chart. */
  events?: boolean;
}

export interface ExperimentGuide {
  /** Two or three sentences: what runs, and how. */
  about: string;
  /** What a reader should check, and against what. */
  lookFor: string;
  figures: FigureGuide[];
  /** The headline keys shown on the terminal line, in order. */
  screen: string[];
  charts: ChartGuide[];
}

const BUS_NAMES: Record<string, string> = { nats: 'NATS', amqp: 'RabbitMQ' };
const bus = (v: string) => BUS_NAMES[v] ?? v;
const TICK_FLOOR_P50_US: Record<string, number> = { nats: 359, amqp: 629 };
const REF = 'docs/benchmarks.md, 2-core reference machine';

export const GUIDES: Record<ExperimentName, ExperimentGuide> = {
  messenger: {
    about:
      'Two messenger replicas store chat messages in one PostgreSQL. The bench sends messages from 50 concurrent writers to both replicas and checks, from the answers alone, the four ordering properties: one global sequence without gaps or repeats, per-sender counters likewise, real-time order between requests, and timestamps that never go backwards. Then both replicas get SIGTERM and must drain cleanly.',
    lookFor:
      'Zero ordering violations is the point of the exercise. Throughput and latency show what group commit buys: the naive design, one transaction per request under one lock, answers about 450 requests/s. A quick run sends 50 × 20 requests on a machine the lab itself keeps busy, so compare its numbers with care.',
    figures: [
      { key: 'throughput_rps', label: () => 'throughput', unit: 'req/s', target: () => '≥ 5,000 req/s (2 replicas, 50 × 100)', reference: () => `8,280 req/s; naive design ≈ 450, grouping off 2,445 (${REF})` },
      { key: 'p50_ms', label: () => 'latency, median', unit: 'ms', reference: () => `5.1 ms (${REF})` },
      { key: 'p99_ms', label: () => 'latency, p99', unit: 'ms', target: () => '< 50 ms', reference: () => `19.3 ms (${REF})` },
      { key: 'max_ms', label: () => 'latency, worst', unit: 'ms' },
    ],
    screen: ['throughput_rps', 'p99_ms'],
    charts: [
      { series: /^(latency distribution) \(ms\)$/, title: 'Latency of answered requests', x: 'latency bucket (ms)', y: 'requests' },
      { series: /^(throughput per replica) \(req\/s\)$/, title: 'Throughput per replica', x: 'replica', y: 'requests per second (req/s)' },
    ],
  },
  pingpong: {
    about:
      "A ping-pong server and two clients speak the exercise's line protocol over TCP, with protocol time sped up (--time-scale). The server answers each PING after a random delay, ignores about 10% of them and broadcasts a keepalive to every client each period; clients pair answers to requests by their number n, time out the ignored ones and reconnect when dropped. The lab then reads every log file line by line.",
    lookFor:
      'Each check is a property of the logs: one line per request, a gap-free counter, answers paired to the right request, every timeout explained (ignored, unread at shutdown, or late). Round-trip times follow the random delay the server draws. The load version of this exercise (npm run bench:pingpong) holds 10,000 clients and is judged on keepalives reaching all of them within 100 ms.',
    figures: [
      { key: 'clients', label: () => 'clients', unit: 'processes' },
      { key: 'requests', label: () => 'requests sent', unit: 'PINGs' },
      { key: 'answered', label: () => 'answered', unit: 'PONGs' },
      { key: 'ignored', label: () => 'ignored by the server', unit: 'PINGs', target: () => 'about 10% of requests' },
      { key: 'timeouts', label: () => 'client timeouts', unit: 'PINGs', target: () => '= ignored + unread at shutdown + late' },
      { key: 'late', label: () => 'answers after the timeout', unit: 'PONGs' },
      { key: 'keepalives', label: () => 'keepalive broadcasts', unit: 'broadcasts' },
      { key: 'counter_max', label: () => 'server counter at the end', unit: '' },
      { key: 'rtt_p50_ms', label: () => 'round trip, median', unit: 'ms' },
      { key: 'rtt_p99_ms', label: () => 'round trip, p99', unit: 'ms' },
      { key: 'reconnects', label: () => 'reconnects', unit: '' },
      { key: 'seed', label: () => 'random seed (replays the run)', plain: true },
    ],
    screen: ['requests', 'timeouts', 'rtt_p50_ms'],
    charts: [
      { series: /^(rtt)_ms$/, title: 'Round-trip time of answered PINGs', x: 'round trip (ms)', y: 'answers' },
      { series: /^(answer_delay)_ms$/, title: 'Answer delay drawn by the server', x: 'delay (ms)', y: 'answers' },
    ],
  },
  echo: {
    about:
      'Closed-loop TCP echo: each connection sends a message and waits for every byte back before sending the next, against one server per concurrency model: one event loop (loop), a cluster of processes (cluster), worker threads (threads). Every echo is checked byte for byte, and separate generator processes make the load so that the generator is not what is measured.',
    lookFor:
      "Compare the models on one scale in the first chart. The exercise's baselines are Python servers: asyncio, and one thread per connection. The design's target is at least 2.5 × asyncio and 1.5 × threaded with p99 under 2 ms; a saturated generator makes every number suspect.",
    figures: [
      { key: 'main_cell', label: () => 'measured cell', unit: 'message size × connections' },
      { key: /^rps_(.+)$/, label: (m) => `requests per second, ${m}`, unit: 'req/s', reference: (m) => ECHO_REFERENCE_RPS[m] },
      { key: /^p99_us_(.+)$/, label: (m) => `latency p99, ${m}`, unit: 'µs', target: () => '< 2,000 µs' },
      { key: 'best_model', label: () => 'fastest netlab model', unit: '' },
      { key: 'best_vs_asyncio', label: () => 'fastest model ÷ Python asyncio', unit: '×', target: () => '≥ 2.5 ×', reference: () => `1.61 × (${REF})` },
      { key: 'best_vs_threaded', label: () => 'fastest model ÷ Python threaded', unit: '×', target: () => '≥ 1.5 ×', reference: () => `2.08 × (${REF})` },
      { key: 'idle_rss_per_connection_bytes', label: () => 'memory per idle connection', unit: 'bytes', reference: () => `4.43 KiB (${REF})` },
    ],
    screen: ['best_model', 'rps_loop', 'rps_cluster', 'rps_threads'],
    charts: [
      { series: /^rps_(.+)$/, title: 'Requests per second by concurrency model (one scale)', x: 'cell (message size × connections)', y: 'requests per second (req/s)', legend: 'model' },
    ],
  },
  tick: {
    about:
      'Two tick apps, app1 and app2, each publish a tick every 10 ms to the other through a message broker, NATS and then RabbitMQ, on a schedule that never drifts. The receiver measures dt, the time from the tick\'s timestamp to its arrival (same host, so no clock offset); echoed ticks give the round trip, halved.',
    lookFor:
      'dt should stay close to the bare broker floor (two plain clients of the same libraries doing nothing else): the design asks for at most 1.2 × the floor, no tick lost, and the own timer\'s jitter p99 under 1 ms. A broker that does not answer is SKIPPED, with how to start one; that is not a pass.',
    figures: [
      { key: 'rate_per_second', label: () => 'ticks per second, each way', unit: 'ticks/s', target: () => '100' },
      { key: /^(.+)_status$/, label: (b) => `${bus(b)}`, unit: '' },
      { key: /^(.+)_dt_p50_us$/, label: (b) => `${bus(b)}: one-way delay dt, median`, unit: 'µs', target: (b) => (TICK_FLOOR_P50_US[b] ? `≤ 1.2 × floor (${Math.round(TICK_FLOOR_P50_US[b]! * 1.2)} µs)` : '≤ 1.2 × floor'), reference: (b) => (TICK_FLOOR_P50_US[b] ? `floor ${TICK_FLOOR_P50_US[b]} µs (${REF})` : undefined) },
      { key: /^(.+)_dt_p99_us$/, label: (b) => `${bus(b)}: one-way delay dt, p99`, unit: 'µs', target: () => '≤ 1.2 × floor p99' },
      { key: /^(.+)_rtt_half_p50_us$/, label: (b) => `${bus(b)}: round trip ÷ 2, median`, unit: 'µs' },
      { key: /^(.+)_jitter_p99_us$/, label: (b) => `${bus(b)}: own timer jitter, p99`, unit: 'µs', target: () => '< 1,000 µs' },
      { key: /^(.+)_lost$/, label: (b) => `${bus(b)}: ticks lost`, unit: 'ticks', target: () => '0' },
    ],
    screen: ['nats_dt_p50_us', 'amqp_dt_p50_us'],
    charts: [
      { series: /^(.+)_dt_us$/, title: 'One-way delay dt of ticks, both directions', x: 'dt bucket (µs)', y: 'ticks', legend: 'broker', names: BUS_NAMES },
    ],
  },
  dispatch: {
    about:
      'A dispatcher hands messages to worker processes in batches over server-sent events, with a lease on every attempt; a message that fails three attempts is dead-lettered into an LMDB store. The workers are chaotic by design (a message with period > 800 fails, one with period > 900 kills its worker, which is restarted), and halfway through the dispatcher itself is SIGKILLed and restarted on the same store.',
    lookFor:
      'After the crash nothing may be lost or done twice: every generated message is exactly one of done, dead-lettered, queued or leased. About 20% of messages are generated with period > 800 and must end dead-lettered (checked: that share within sampling error, and none of them ever done); a worker that exits takes its whole batch with it, so more end dead-lettered in all, how many depending on how fast the machine restarts workers (30–39% is typical; docs/dispatch.md). The red lines on the time series mark the dispatcher kill.',
    figures: [
      { key: 'generated', label: () => 'messages generated', unit: 'messages' },
      { key: 'done', label: () => 'done', unit: 'messages' },
      { key: 'dead', label: () => 'dead-lettered', unit: 'messages' },
      { key: 'queued', label: () => 'still queued at the end', unit: 'messages' },
      { key: 'leased', label: () => 'leased at the end', unit: 'messages', target: () => '0 (every lease ended)' },
      { key: 'dead_letter_share_pct', label: () => 'dead-lettered share of finished', unit: '%', target: () => '> 20%: 20% period > 800, plus batches lost with their worker (not judged)', reference: () => 'typically 30–39% (docs/dispatch.md)' },
      { key: 'generated_period_over_800_pct', label: () => 'period > 800 share of generated', unit: '%', target: () => '20% within sampling error' },
      { key: 'period_over_800_share_pct', label: () => 'period > 800 share of finished', unit: '%', target: () => '≈ 20% (a little less: they take 3 attempts to finish)' },
      { key: 'finished_per_s', label: () => 'finished per second', unit: 'msg/s', reference: () => `bench: 1,000 workers, no sleeping: 3,280 finished/s (${REF})` },
      { key: 'workers', label: () => 'worker processes', unit: '' },
      { key: 'worker_exits', label: () => 'worker exits (restarted)', unit: '' },
      { key: 'dispatcher_kills', label: () => 'dispatcher SIGKILLs', unit: '', target: () => '1' },
      { key: 'leases_open_at_kills', label: () => 'leases open at the kills', unit: 'leases', target: () => 'each failed once, at the restart' },
    ],
    screen: ['done', 'dead_letter_share_pct', 'dispatcher_kills'],
    charts: [
      { series: /^(queued|leased|done|dead)$/, title: 'Messages by state over the run', x: 'time since the workers started (s)', y: 'messages', legend: 'state', names: { dead: 'dead-lettered' }, events: true },
    ],
  },
};

const ECHO_REFERENCE_RPS: Record<string, string> = {
  loop: `119,298 req/s (${REF})`,
  cluster: `129,781 req/s (${REF})`,
  threads: `123,301 req/s (${REF})`,
  'python-asyncio': `80,746 req/s: the baseline (${REF})`,
  'python-threaded': `62,481 req/s: the baseline (${REF})`,
};

/** The guide entry for one headline key, with the variant its pattern matched. */
export function figureFor(guide: ExperimentGuide | undefined, key: string): { figure: FigureGuide; variant: string } | undefined {
  for (const figure of guide?.figures ?? []) {
    if (typeof figure.key === 'string' ? figure.key === key : figure.key.test(key)) {
      const variant = typeof figure.key === 'string' ? key : (figure.key.exec(key)![1] ?? key);
      return { figure, variant };
    }
  }
  return undefined;
}

/** 12345.6 -> "12,346"; 3.14159 -> "3.14"; strings as they are. */
export function formatNumber(value: number | string): string {
  if (typeof value === 'string') return value;
  if (!Number.isFinite(value)) return String(value);
  const digits = Math.abs(value) >= 100 || Number.isInteger(value) ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  return value.toLocaleString('en-US', { maximumFractionDigits: digits });
}

/** A headline figure as a reader sees it: label, value with its unit, target and reference. */
export function describeFigure(guide: ExperimentGuide | undefined, key: string, value: number | string): { label: string; value: string; target: string; reference: string } {
  const found = figureFor(guide, key);
  const unit = found?.figure.unit ?? '';
  const n = found?.figure.plain ? String(value) : formatNumber(value);
  const shown = typeof value !== 'number' || !unit ? n : unit === '%' ? `${n}%` : `${n} ${unit}`;
  return {
    label: found ? found.figure.label(found.variant) : key.replace(/_/g, ' '),
    value: shown,
    target: found?.figure.target?.(found.variant) ?? '',
    reference: found?.figure.reference?.(found.variant) ?? '',
  };
}
