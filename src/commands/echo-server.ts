import { availableParallelism } from 'node:os';
import { opt } from '../core/options.js';
import { defineRole } from '../core/role.js';
import { ECHO_MODELS } from '../echo/models.js';
import { startEchoServer } from '../echo/server/server.js';
import { summaryOf } from './index.js';

export default defineRole({
  name: 'echo-server',
  summary: summaryOf('echo-server'),
  options: {
    model: opt.choice('concurrency model', ECHO_MODELS, 'loop'),
    port: opt.port('TCP port', 7007),
    host: opt.string('address to bind', '0.0.0.0'),
    workers: opt.int('worker processes (cluster) or threads (threads); the loop model has one', availableParallelism(), 1, 256),
    idleTimeout: opt.duration('close a connection after this long without traffic either way (0 = never)', '60s', 's'),
    maxConnections: opt.int('connections open at once per listener; more are closed at once', 50_000, 1, 10_000_000),
    framed: opt.switch('count requests: the stream is the bench\'s length-prefixed messages (u32 BE total length first)'),
  },
  async run(o, context) {
    return startEchoServer({ model: o.model, host: o.host, port: o.port, workers: o.workers, idleTimeoutMs: o.idleTimeout, maxConnections: o.maxConnections, framed: o.framed }, context);
  },
});
