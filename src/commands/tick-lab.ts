import { dirname } from 'node:path';
import { opt } from '../core/options.js';
import { defineRole } from '../core/role.js';
import { runTickLab } from '../tick/lab.js';
import { summaryOf } from './index.js';

const DEFAULT_BUSES = [process.env.NATS_URL || 'nats://127.0.0.1:4222', process.env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672'];

export default defineRole({
  name: 'tick-lab',
  summary: summaryOf('tick-lab'),
  usage: 'netlab tick-lab [--bus URL]... [--duration 10s] [--rate 100] [--report FILE]',
  options: {
    bus: { ...opt.urls('broker URL to run a pair over; give once per bus (default: $NATS_URL and $AMQP_URL, else the local ones)', ['nats:', 'amqp:', 'amqps:'], DEFAULT_BUSES), env: 'TICK_LAB_BUSES' },
    duration: { ...opt.duration('how long each pair exchanges ticks', '10s', 's', 500), env: 'TICK_LAB_DURATION' },
    warmup: { ...opt.duration('leave the first this-long of each app out of the dt/RTT/jitter numbers (loss still counts)', '1s', 's'), env: 'TICK_LAB_WARMUP' },
    rate: { ...opt.number('ticks per second each way', 100, 0.1, 10_000), env: 'TICK_LAB_RATE' },
    report: { ...opt.optionalString('write the ExperimentReport JSON here', 'file'), env: 'TICK_LAB_REPORT' },
    outDir: { ...opt.optionalString('where the apps\' JSON results and logs go (default: beside --report, else .netlab/tick-lab)', 'dir'), env: 'TICK_LAB_OUT_DIR' },
    requireBrokers: { ...opt.switch('fail a bus whose broker does not answer instead of skipping it'), env: 'NETLAB_REQUIRE_BROKERS' },
  },
  async run(o, { logger, lifecycle }) {
    const outDir = o.outDir ?? (o.report ? dirname(o.report) : '.netlab/tick-lab');
    return runTickLab({ buses: o.bus, durationMs: o.duration, warmupMs: o.warmup, rate: o.rate, report: o.report, outDir, requireBrokers: o.requireBrokers, signal: lifecycle.signal }, logger);
  },
});
