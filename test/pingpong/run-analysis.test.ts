import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MARKER_SETS } from '../../src/pingpong/log-format.js';
import { analyzeRun } from '../../src/pingpong/run-analysis.js';

const SERVER = [
  '2025-08-22;12:00:00.100;[0] PING;12:00:00.300;[0/0] PONG (1)',
  '2025-08-22;12:00:00.200;[0] PING;12:00:00.400;[1/0] PONG (2)',
  '2025-08-22;12:00:01.000;[1] PING;(проигнорировано);(проигнорировано)',
];
const CLIENT1 = [
  '2025-08-22;12:00:00.099;[0] PING;12:00:00.301;[0/0] PONG (1)',
  '2025-08-22;12:00:00.999;[1] PING;(таймаут);(таймаут)',
  '2025-08-22;;;12:00:05.000;[2] keepalive',
  '2025-08-22;;;12:00:10.000;[3] keepalive',
];
const CLIENT2 = ['2025-08-22;12:00:00.199;[0] PING;12:00:00.401;[1/0] PONG (2)', '2025-08-22;;;12:00:05.001;[2] keepalive', '2025-08-22;;;12:00:10.001;[3] keepalive'];

function analyze(server: string[], client1: string[], client2: string[] = CLIENT2) {
  const dir = mkdtempSync(join(tmpdir(), 'pp-analysis-'));
  const files = [join(dir, 'server.log'), join(dir, 'client1.log'), join(dir, 'client2.log')];
  [server, client1, client2].forEach((lines, i) => writeFileSync(files[i]!, lines.map((l) => l + '\n').join('')));
  const stats = { late: 0, reconnects: 0 } as never;
  const result = analyzeRun({
    serverLog: files[0]!,
    clientLogs: files.slice(1),
    clientStats: [stats, stats],
    markers: MARKER_SETS.ru,
    ignoreProbability: 0.1,
    delayMinMs: 100,
    delayMaxMs: 1000,
    keepalivePeriodMs: 5000,
  });
  return { ...result, failed: result.checks.filter((c) => !c.pass).map((c) => c.name) };
}

describe('run analysis', () => {
  it('passes a consistent run and reports its numbers', () => {
    const { failed, headline } = analyze(SERVER, CLIENT1);
    expect(failed).toEqual([]);
    expect(headline).toMatchObject({ requests: 3, answered: 2, ignored: 1, timeouts: 1, keepalives: 2, counter_max: 3, rtt_p50_ms: 202 });
  });

  it('catches a line in the wrong format', () => {
    expect(analyze(SERVER, [...CLIENT1, '2025-08-22;12:00:11.000;[2] PING;(timeout);(timeout)']).failed).toContain('log format valid');
  });

  it('catches a gap in the counter', () => {
    const noKeepalive2 = (lines: string[]) => lines.filter((l) => !l.endsWith('[2] keepalive'));
    expect(analyze(SERVER, noKeepalive2(CLIENT1), noKeepalive2(CLIENT2)).failed).toEqual(['counter gap-free']);
  });

  it('catches a PONG paired with the wrong request', () => {
    const wrong = ['2025-08-22;12:00:00.099;[0] PING;12:00:00.301;[0/1] PONG (1)', ...CLIENT1.slice(1)];
    expect(analyze(SERVER, wrong).failed).toContain('pairing correct');
  });

  it('catches an answer the server never sent, and counters out of order', () => {
    const swapped = [CLIENT1[0]!, CLIENT1[1]!, CLIENT1[3]!, CLIENT1[2]!];
    expect(analyze(SERVER, swapped).failed).toContain('counter order');
  });

  it('catches a request with no line', () => {
    const missing0 = CLIENT1.slice(1);
    expect(analyze(SERVER, missing0).failed).toContain('every request logged once');
  });

  it('catches an implausible ignore share', () => {
    const allIgnored = Array.from({ length: 200 }, (_, i) => `2025-08-22;12:00:01.000;[${i}] PING;(проигнорировано);(проигнорировано)`);
    expect(analyze(allIgnored, CLIENT1).failed).toContain('ignore ratio plausible');
  });
});
