// k6 load test of the messenger: the exercise's workload (50 virtual users x 100 requests), spread
// over the replica URLs, checking each response's window like `netlab messenger-bench --verify`.
//
//   k6 run loadtest/messenger.js
//   k6 run -e MESSENGER_URLS=http://127.0.0.1:8080,http://127.0.0.1:8081 -e VUS=500 -e ITERATIONS=20 loadtest/messenger.js
import http from 'k6/http';
import { check } from 'k6';
import { Counter } from 'k6/metrics';

const URLS = (__ENV.MESSENGER_URLS || 'http://127.0.0.1:8080').split(',').map((u) => u.trim()).filter(Boolean);
const VUS = Number(__ENV.VUS || 50);
const ITERATIONS = Number(__ENV.ITERATIONS || 100);
const USERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy'];

const windowViolations = new Counter('messenger_window_violations');

export const options = {
  scenarios: {
    exercise: { executor: 'per-vu-iterations', vus: VUS, iterations: ITERATIONS, maxDuration: '10m' },
  },
  thresholds: {
    http_req_failed: ['rate<0.001'],
    http_req_duration: ['p(99)<50'],
    checks: ['rate>0.999'],
    messenger_window_violations: ['count==0'],
  },
};

/** The window must be min(10, seq) consecutive messages ending with the caller's own. */
export function windowIsValid(messages, sender, text) {
  if (!Array.isArray(messages) || messages.length === 0) return false;
  const own = messages[messages.length - 1];
  if (own.sender !== sender || own.text !== text) return false;
  if (messages.length !== Math.min(10, own.seq)) return false;
  for (let i = 1; i < messages.length; i++) {
    if (messages[i].seq !== messages[i - 1].seq + 1) return false;
    if (Date.parse(messages[i].sentAt) < Date.parse(messages[i - 1].sentAt)) return false;
  }
  return true;
}

export default function () {
  const url = URLS[Math.floor(Math.random() * URLS.length)];
  const sender = USERS[Math.floor(Math.random() * USERS.length)];
  const text = `k6 vu${__VU} it${__ITER}`;
  const res = http.post(`${url}/messages`, JSON.stringify({ sender, text }), { headers: { 'Content-Type': 'application/json' }, tags: { replica: url } });
  let body = null;
  try {
    body = res.json();
  } catch (_) {
    body = null;
  }
  const valid = res.status === 201 && body !== null && windowIsValid(body.messages, sender, text);
  if (res.status === 201 && !valid) windowViolations.add(1);
  check(res, { 'status is 201': (r) => r.status === 201, 'window is valid': () => valid });
}
