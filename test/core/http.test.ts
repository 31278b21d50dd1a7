import { describe, expect, it } from 'vitest';
import { createHttpApp } from '../../src/core/http.js';
import { Lifecycle } from '../../src/core/lifecycle.js';
import { createLogger } from '../../src/core/logger.js';
import { createRegistry } from '../../src/core/metrics.js';

/** The `_count` sample of one route's latency histogram in the exposition text; undefined when it has none. */
function count(text: string, route: string, method: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith('netlab_http_request_duration_seconds_count{') && l.includes(`route="${route}"`) && l.includes(`method="${method}"`));
  return line === undefined ? undefined : Number(line.split(' ').at(-1));
}

describe('createHttpApp', () => {
  it('has a latency series at 0 for every declared route before its first request, and counts requests in it', async () => {
    const logger = createLogger('test', 'silent');
    const registry = createRegistry('test');
    const { app, zeroRouteMetrics } = createHttpApp({ logger, registry, lifecycle: new Lifecycle(logger, 1000) });
    app.get('/things', (c) => c.json([]));
    app.post('/things', (c) => c.json({}, 201));
    zeroRouteMetrics();

    const before = await registry.metrics();
    expect(count(before, '/things', 'GET')).toBe(0);
    expect(count(before, '/things', 'POST')).toBe(0);
    expect(count(before, '/metrics', 'GET')).toBe(0);
    // The shared middleware is not a route of its own.
    expect(before).not.toMatch(/method="ALL"/);

    expect((await app.request('/things', { method: 'POST' })).status).toBe(201);
    const after = await registry.metrics();
    expect(count(after, '/things', 'POST')).toBe(1);
    expect(count(after, '/things', 'GET')).toBe(0);
  });
});
