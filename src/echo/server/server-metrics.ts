import { Counter, Gauge, type Registry } from '../../core/metrics.js';
import type { EchoModel } from '../models.js';
import type { EchoStats } from './echo-stats.js';

type CounterField = 'accepted' | 'rejected' | 'bytesIn' | 'bytesOut' | 'requests' | 'framingErrors' | 'idleTimeouts';

const COUNTERS: Record<CounterField, { name: string; help: string }> = {
  accepted: { name: 'netlab_echo_connections_accepted_total', help: 'TCP connections accepted' },
  rejected: { name: 'netlab_echo_connections_rejected_total', help: 'connections closed at once because --max-connections were open' },
  bytesIn: { name: 'netlab_echo_received_bytes_total', help: 'bytes read from peers' },
  bytesOut: { name: 'netlab_echo_sent_bytes_total', help: 'bytes echoed back (accepted for sending)' },
  requests: { name: 'netlab_echo_requests_total', help: 'complete length-prefixed messages echoed (counted with --framed only)' },
  framingErrors: { name: 'netlab_echo_framing_errors_total', help: 'connections whose stream stopped looking framed (with --framed)' },
  idleTimeouts: { name: 'netlab_echo_idle_timeouts_total', help: 'connections closed after --idle-timeout without traffic' },
};

/**
 * Exposes the summed counters of every listener of the server (one, or one per worker) on the
 * role's registry, read when /metrics is scraped.
 */
export function registerEchoMetrics(registry: Registry, model: EchoModel, read: () => EchoStats, workers: () => number): void {
  const labels = { model };
  for (const [field, meta] of Object.entries(COUNTERS) as [CounterField, { name: string; help: string }][]) {
    let reported = 0;
    const counter = new Counter({
      name: meta.name,
      help: meta.help,
      labelNames: ['model'],
      registers: [registry],
      collect() {
        const value = read()[field];
        if (value > reported) this.inc(labels, value - reported);
        reported = Math.max(reported, value);
      },
    });
    // At 0 from the start: a dashboard shows 0, not "No data", before the first connection.
    counter.labels(labels).inc(0);
  }
  const gauge = (name: string, help: string, value: () => number) =>
    new Gauge({ name, help, labelNames: ['model'], registers: [registry], collect() { this.set(labels, value()); } });
  gauge('netlab_echo_open_connections', 'connections open now', () => read().open);
  gauge('netlab_echo_buffered_bytes', 'bytes queued for peers that read slower than they write', () => read().bufferedBytes);
  gauge('netlab_echo_workers', 'listeners running (1 for the loop model)', workers);
}
