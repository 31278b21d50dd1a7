import { defineRole } from '../core/role.js';
import { runPingPongClient } from '../pingpong/client.js';
import { clientOptions } from '../pingpong/options.js';
import { summaryOf } from './index.js';

export default defineRole({
  name: 'pingpong-client',
  summary: summaryOf('pingpong-client'),
  options: clientOptions,
  async run(options, context) {
    return runPingPongClient(options, context);
  },
});
