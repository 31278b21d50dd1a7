import { defineRole } from '../core/role.js';
import { serverOptions } from '../pingpong/options.js';
import { startPingPongServer } from '../pingpong/server.js';
import { summaryOf } from './index.js';

export default defineRole({
  name: 'pingpong-server',
  summary: summaryOf('pingpong-server'),
  options: serverOptions,
  async run(options, context) {
    await startPingPongServer(options, context);
    return undefined;
  },
});
