import { Counter, Gauge, Histogram, type Registry } from '../core/metrics.js';
import { BAD_LINE_REASONS } from './protocol.js';
import { DROP_REASONS } from './server-core.js';

/** Latency buckets (seconds) for keepalive lag and round trips at the exercise's time scale and faster. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

/**
 * The server's metrics. `sync`, when given (--threads above 1), runs before each metric is read, so
 * counters kept by the threads in shared memory are brought into this one registry at scrape time.
 */
export function serverMetrics(registry: Registry, sync?: (metrics: ServerMetrics) => void) {
  const registers = [registry];
  const badLines = new Counter({ name: 'netlab_pingpong_bad_lines_total', help: 'Lines from clients that were not a valid request, by reason.', labelNames: ['reason'], registers });
  const requests = new Counter({
    name: 'netlab_pingpong_requests_total',
    help: 'PING requests read, by outcome: answered, ignored (on purpose), abandoned (client gone before the answer).',
    labelNames: ['outcome'],
    registers,
  });
  const dropped = new Counter({ name: 'netlab_pingpong_clients_dropped_total', help: 'Connections the server closed, by reason.', labelNames: ['reason'], registers });
  for (const reason of BAD_LINE_REASONS) badLines.inc({ reason }, 0);
  for (const outcome of ['answered', 'ignored', 'abandoned']) requests.inc({ outcome }, 0);
  for (const reason of DROP_REASONS) dropped.inc({ reason }, 0);
  const metrics = {
    connected: new Gauge({ name: 'netlab_pingpong_connected_clients', help: 'Clients connected now.', registers }),
    connections: new Counter({ name: 'netlab_pingpong_connections_total', help: 'Client connections accepted.', registers }),
    requests,
    badLines,
    dropped,
    keepalives: new Counter({ name: 'netlab_pingpong_keepalives_total', help: 'Keepalive broadcasts sent (one counter value each).', registers }),
    keepaliveMessages: new Counter({ name: 'netlab_pingpong_keepalive_messages_total', help: 'Keepalive lines queued, one per recipient.', registers }),
    keepaliveLag: new Histogram({
      name: 'netlab_pingpong_keepalive_lag_seconds',
      help: 'How late a keepalive broadcast started against its schedule.',
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    keepaliveBroadcast: new Histogram({
      name: 'netlab_pingpong_keepalive_broadcast_seconds',
      help: 'Time to queue one keepalive on every connection.',
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    counter: new Gauge({ name: 'netlab_pingpong_counter', help: 'The next server-wide counter value (PONGs and keepalives sent so far).', registers }),
    threadsHeap: new Gauge({
      name: 'netlab_pingpong_threads_heap_used_bytes',
      help: 'V8 heap in use by the connection threads (--threads above 1; the main thread is in netlab_nodejs_heap_size_used_bytes), summed.',
      registers,
    }),
  };
  if (sync) {
    const collect = () => sync(metrics);
    for (const metric of Object.values(metrics)) (metric as unknown as { collect?: () => void }).collect = collect;
  }
  return metrics;
}

export interface ServerMetrics {
  connected: Gauge;
  connections: Counter;
  requests: Counter<'outcome'>;
  badLines: Counter<'reason'>;
  dropped: Counter<'reason'>;
  keepalives: Counter;
  keepaliveMessages: Counter;
  keepaliveLag: Histogram;
  keepaliveBroadcast: Histogram;
  counter: Gauge;
  threadsHeap: Gauge;
}

export function clientMetrics(registry: Registry) {
  const registers = [registry];
  const badLines = new Counter({ name: 'netlab_pingpong_client_bad_lines_total', help: 'Lines from the server that were not a valid message, by reason.', labelNames: ['reason'], registers });
  for (const reason of [...BAD_LINE_REASONS, 'unexpected']) badLines.inc({ reason }, 0);
  return {
    connected: new Gauge({ name: 'netlab_pingpong_client_connected', help: 'Connections of this process that are up now.', registers }),
    reconnects: new Counter({ name: 'netlab_pingpong_client_reconnects_total', help: 'Connections established again after a failure or a cut.', registers }),
    requests: new Counter({ name: 'netlab_pingpong_client_requests_total', help: 'PING requests sent.', registers }),
    answered: new Counter({ name: 'netlab_pingpong_client_answered_total', help: 'Requests answered in time and paired by n.', registers }),
    timeouts: new Counter({ name: 'netlab_pingpong_client_timeouts_total', help: 'Requests not answered within --timeout.', registers }),
    late: new Counter({ name: 'netlab_pingpong_client_late_answers_total', help: 'PONGs that arrived after their request timed out.', registers }),
    keepalives: new Counter({ name: 'netlab_pingpong_client_keepalives_total', help: 'Keepalives received.', registers }),
    badLines,
    rtt: new Histogram({ name: 'netlab_pingpong_client_rtt_seconds', help: 'Round trip from PING sent to its PONG read.', buckets: LATENCY_BUCKETS, registers }),
  };
}

export type ClientMetrics = ReturnType<typeof clientMetrics>;
