import { EXIT_FAILED, EXIT_OK } from '../core/exit-codes.js';
import { opt } from '../core/options.js';
import { defineRole } from '../core/role.js';
import { runEchoLoad } from '../echo/bench/load-client.js';
import { MAX_MESSAGE_BYTES } from '../echo/bench/message.js';
import { summaryOf } from './index.js';

export default defineRole({
  name: 'echo-load',
  summary: summaryOf('echo-load'),
  options: {
    host: { ...opt.string('echo server to load', '127.0.0.1'), env: 'ECHO_HOST' },
    port: { ...opt.port('its TCP port', 7007), env: 'ECHO_PORT' },
    connections: opt.int('connections kept open (one is opened again after a failure)', 10, 1, 100_000),
    size: opt.int('bytes per message', 64, 1, MAX_MESSAGE_BYTES),
    rate: opt.number('messages per second on each connection', 10, 0.01, 100_000),
    duration: opt.duration('stop after this long; 0 = until SIGTERM', '0', 's'),
  },
  async run(o, { logger, lifecycle, registry }) {
    const summary = await runEchoLoad({ host: o.host, port: o.port, connections: o.connections, size: o.size, rate: o.rate, durationMs: o.duration, signal: lifecycle.signal, registry, logger });
    const errors = Object.values(summary.errors).reduce((a, b) => a + b, 0);
    logger.info({ ...summary }, `echo load done: ${summary.echoed} echoed, p50 ${summary.p50_ms.toFixed(2)} ms, p99 ${summary.p99_ms.toFixed(2)} ms, ${errors} errors`);
    // A mismatch is a wrong echo: the server under test is broken, which the load must not hide.
    return summary.errors.mismatch > 0 ? EXIT_FAILED : EXIT_OK;
  },
});
