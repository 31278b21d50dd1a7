import { opt } from '../core/options.js';
import { defineRole } from '../core/role.js';
import { runBenchCommand } from '../messenger/bench-client.js';
import { summaryOf } from './index.js';

export default defineRole({
  name: 'messenger-bench',
  summary: summaryOf('messenger-bench'),
  options: {
    url: { ...opt.urls('a messenger replica; give once per replica, requests go to a random one', ['http:', 'https:'], ['http://127.0.0.1:8080']), env: 'MESSENGER_URLS' },
    workers: opt.int('concurrent workers', 50, 1, 100_000),
    requests: opt.int('requests each worker sends in sequence', 100, 1, 10_000_000),
    users: opt.int('how many sender names to draw from', 10, 1, 1_000_000),
    verify: opt.switch('check the four ordering properties from the responses; exit 3 on a violation'),
    timeout: opt.duration('per-request timeout', '10s', 'ms', 1),
    json: opt.optionalString('also write the results as JSON to this file', 'file'),
  },
  async run(o, { logger }) {
    return runBenchCommand({ urls: o.url, workers: o.workers, requests: o.requests, users: o.users, verify: o.verify, timeoutMs: o.timeout, json: o.json }, logger);
  },
});
