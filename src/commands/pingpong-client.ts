import { defineRole } from '../core/role.js';
import { runPingPongClient } from '../pingpong/client.js';
import { clientOptions } from '../pingpong/options.js';

export default defineRole({
  name: 'pingpong-client',
  summary: 'TCP ping-pong client: sends "[n] PING" every 300-3000 ms, pairs PONGs by n, logs timeouts and keepalives, reconnects',
  options: clientOptions,
  async run(options, context) {
    return runPingPongClient(options, context);
  },
});
