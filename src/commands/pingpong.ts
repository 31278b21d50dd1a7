import { opt } from '../core/options.js';
import { defineRole } from '../core/role.js';
import { clientBehaviourOptions, commonPingPongOptions, serverBehaviourOptions } from '../pingpong/options.js';
import { runPingPong } from '../pingpong/orchestrator.js';
import { DEFAULT_PORT } from '../pingpong/protocol.js';
import { summaryOf } from './index.js';

export default defineRole({
  name: 'pingpong',
  summary: summaryOf('pingpong'),
  options: {
    clients: opt.int('client processes to start', 2, 1, 1000),
    duration: opt.duration('how long to run (times --time-scale)', '5m', 's', 1),
    dir: { ...opt.string('directory for server.log, client1.log ...', '.'), env: 'PINGPONG_DIR' },
    port: { ...opt.port('server port; 0 = any free port', DEFAULT_PORT), env: 'PINGPONG_PORT' },
    report: opt.optionalString('write an experiment report (JSON) for netlab lab to this file', 'file'),
    ...commonPingPongOptions,
    ...serverBehaviourOptions,
    ...clientBehaviourOptions,
  },
  async run(options, context) {
    return runPingPong(options, context);
  },
});
