import { defineRole } from '../core/role.js';
import { serverOptions } from '../pingpong/options.js';
import { startPingPongServer } from '../pingpong/server.js';

export default defineRole({
  name: 'pingpong-server',
  summary: 'TCP ping-pong server: answers "[n] PING" with "[k/n] PONG (id)" after a random delay, ignores 10%, broadcasts keepalives',
  options: serverOptions,
  async run(options, context) {
    await startPingPongServer(options, context);
    return undefined;
  },
});
