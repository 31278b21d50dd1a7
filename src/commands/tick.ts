import { opt } from '../core/options.js';
import { defineRole } from '../core/role.js';
import { runTickCommand } from '../tick/run-tick.js';
import { PRINT_MODES } from '../tick/tick-app.js';
import { summaryOf } from './index.js';

export default defineRole({
  name: 'tick',
  summary: summaryOf('tick'),
  usage: 'netlab tick --name app1 --peer app2 --bus nats://127.0.0.1:4222 [--rate 100] [--print every|summary|none]',
  options: {
    name: { ...opt.string('this app\'s name (the src of its ticks)', 'app1'), env: 'TICK_NAME' },
    peer: { ...opt.string('the peer app whose ticks to receive', 'app2'), env: 'TICK_PEER' },
    bus: { ...opt.url('broker URL: nats://host:4222 or amqp://user:pass@host:5672 (unset: $NATS_URL, else $AMQP_URL, else nats://127.0.0.1:4222)', ['nats:', 'amqp:', 'amqps:']), env: 'TICK_BUS' },
    rate: { ...opt.number('own ticks per second', 100, 0.1, 10_000), env: 'TICK_RATE' },
    print: { ...opt.choice('what to print: dt per peer tick and summaries, summaries only, or nothing', PRINT_MODES, 'every'), env: 'TICK_PRINT' },
    summaryEvery: { ...opt.duration('how often to print the summary line', '5s', 's', 100), env: 'TICK_SUMMARY_EVERY' },
    duration: { ...opt.duration('stop after this long (0: run until SIGTERM)', '0', 's'), env: 'TICK_DURATION' },
    channel: { ...opt.string('key namespace, so several pairs can share one broker (subject netlab.ticks.<channel>.<name>)', 'default'), env: 'TICK_CHANNEL' },
    spin: { ...opt.duration('poll the clock for this long before each tick instead of trusting the timer (0: off; capped at 10% of the period)', '1ms', 'ms'), env: 'TICK_SPIN' },
    warmup: { ...opt.duration('leave the dt, RTT and jitter samples of the first this-long out of the --json totals (loss counts still cover everything)', '0', 's'), env: 'TICK_WARMUP' },
    json: { ...opt.optionalString('write the run totals as JSON to this file at exit (checked at start: an unwritable path stops the app, exit 2)', 'file'), env: 'TICK_JSON' },
    connectTimeout: { ...opt.duration('fail (exit 1) if no broker answers within this long of the start (0: keep retrying)', '10s', 's'), env: 'TICK_CONNECT_TIMEOUT' },
  },
  async run(o, ctx) {
    return runTickCommand(o, ctx);
  },
});
