import { pino } from 'pino';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { RateLimitedLog, Rejections } from '../../src/core/rejections.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'debug' }, { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { logger, lines };
}

describe('RateLimitedLog', () => {
  it('writes at most burst lines per window and says how many it left out', () => {
    const { logger, lines } = capture();
    let now = 0;
    const log = new RateLimitedLog(logger, 'warn', 3, 1000, () => now);
    for (let i = 0; i < 100; i++) log.log({ i }, 'bad line');
    expect(lines.length).toBe(3);
    expect(log.pending).toBe(97);
    now = 1000;
    log.log({ i: 100 }, 'bad line');
    expect(lines.length).toBe(4);
    expect(lines[3]).toMatchObject({ i: 100, suppressed: 97 });
    expect(log.pending).toBe(0);
  });
});

describe('Rejections', () => {
  it('counts every rejection by reason, with every reason at 0 from the start', async () => {
    const { logger, lines } = capture();
    const registry = new Registry();
    const r = new Rejections(registry, 'netlab_test_rejected_total', 'test', ['schema', 'time'] as const, logger, 'tick');
    const before = await registry.getSingleMetricAsString('netlab_test_rejected_total');
    expect(before).toContain('netlab_test_rejected_total{reason="schema"} 0');
    expect(before).toContain('netlab_test_rejected_total{reason="time"} 0');
    for (let i = 0; i < 50; i++) r.reject('time', { seq: i });
    const after = await registry.getSingleMetricAsString('netlab_test_rejected_total');
    expect(after).toContain('netlab_test_rejected_total{reason="time"} 50');
    expect(lines.length).toBeLessThan(50);
    expect(lines[0]).toMatchObject({ reason: 'time', msg: 'rejected tick: time' });
  });
});
