import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PingPongClientCore, type ClientObserver } from '../../src/pingpong/client-core.js';
import { MARKER_SETS, type Markers } from '../../src/pingpong/log-format.js';
import { MemoryLog } from './fakes.js';

const line = (text: string) => ({ kind: 'line' as const, text });

function setup(observer: ClientObserver = {}, markers: Markers = MARKER_SETS.ru) {
  const log = new MemoryLog();
  const core = new PingPongClientCore({ timeoutMs: 2000, markers }, log, observer, () => Date.now());
  return { core, log };
}

describe('ping-pong client protocol state', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: new Date(2025, 8, 1, 12, 0, 0, 0) });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('numbers requests from 0 and pairs PONGs by n, whatever order they come in', () => {
    const rtts: [number, number][] = [];
    const { core, log } = setup({ answered: (n, rtt) => rtts.push([n, rtt]) });
    expect(core.begin()).toBe('[0] PING');
    vi.advanceTimersByTime(300);
    expect(core.begin()).toBe('[1] PING');
    vi.advanceTimersByTime(200);
    core.receive(line('[7/1] PONG (1)'));
    vi.advanceTimersByTime(500);
    core.receive(line('[8/0] PONG (1)'));
    expect(log.lines).toEqual([
      '2025-09-01;12:00:00.300;[1] PING;12:00:00.500;[7/1] PONG (1)',
      '2025-09-01;12:00:00.000;[0] PING;12:00:01.000;[8/0] PONG (1)',
    ]);
    expect(rtts).toEqual([[1, 200], [0, 1000]]);
    expect(core.pendingCount).toBe(0);
  });

  it('logs a timeout when the time is up, and counts a later PONG as late without pairing it', () => {
    const late: [number, number][] = [];
    const { core, log } = setup({ late: (n, _t, by) => late.push([n, by]) });
    core.begin();
    vi.advanceTimersByTime(1999);
    expect(log.lines).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(log.lines).toEqual(['2025-09-01;12:00:00.000;[0] PING;(таймаут);(таймаут)']);
    vi.advanceTimersByTime(150);
    core.receive(line('[4/0] PONG (1)'));
    expect(late).toEqual([[0, 150]]);
    expect(log.lines).toHaveLength(1);
  });

  it('judges a PONG read after the deadline by the clock as late, even when the due timer has not run yet', () => {
    const late: [number, number][] = [];
    const answered: number[] = [];
    const timeouts: number[] = [];
    const { core, log } = setup({ late: (n, _t, by) => late.push([n, by]), answered: (n) => answered.push(n), timeout: (n) => timeouts.push(n) });
    core.begin();
    core.begin();
    // A busy event loop: the clock moves on, no timer runs, then both answers are read at once.
    vi.setSystemTime(Date.now() + 2000);
    core.receive(line('[0/1] PONG (1)')); // exactly at the deadline: in time
    vi.setSystemTime(Date.now() + 150);
    core.receive(line('[1/0] PONG (1)'));
    expect(answered).toEqual([1]);
    expect(timeouts).toEqual([0]);
    expect(late).toEqual([[0, 150]]);
    expect(log.lines).toEqual([
      '2025-09-01;12:00:00.000;[1] PING;12:00:02.000;[0/1] PONG (1)',
      '2025-09-01;12:00:00.000;[0] PING;(таймаут);(таймаут)',
    ]);
    vi.runAllTimers(); // the cleared timers log nothing more
    expect(log.lines).toHaveLength(2);
    expect(core.pendingCount).toBe(0);
  });

  it('uses the English timeout marker with --markers en', () => {
    const { core, log } = setup({}, MARKER_SETS.en);
    core.begin();
    vi.advanceTimersByTime(2000);
    expect(log.lines).toEqual(['2025-09-01;12:00:00.000;[0] PING;(timeout);(timeout)']);
  });

  it('logs keepalives with empty request fields and does not take them for answers', () => {
    const keepalives: number[] = [];
    const { core, log } = setup({ keepalive: (k) => keepalives.push(k) });
    core.begin();
    vi.advanceTimersByTime(5);
    core.receive(line('[15] keepalive'));
    expect(log.lines).toEqual(['2025-09-01;;;12:00:00.005;[15] keepalive']);
    expect(core.pendingCount).toBe(1);
    expect(keepalives).toEqual([15]);
  });

  it('reports PONGs for requests never sent, duplicates and garbage as bad lines', () => {
    const bad: string[] = [];
    const { core, log } = setup({ badLine: (reason) => bad.push(reason) });
    core.begin();
    core.receive(line('[0/5] PONG (1)'));
    core.receive(line('[1/0] PONG (1)'));
    core.receive(line('[2/0] PONG (1)'));
    core.receive(line('PONG'));
    core.receive({ kind: 'too-long', bytes: 9000 });
    expect(bad).toEqual(['unexpected', 'unexpected', 'malformed', 'too_long']);
    expect(log.lines).toHaveLength(1);
  });

  it('settles once every request is answered or timed out', async () => {
    const { core } = setup();
    core.begin();
    core.begin();
    let settled = false;
    void core.whenSettled().then(() => (settled = true));
    core.receive(line('[0/0] PONG (1)'));
    await vi.advanceTimersByTimeAsync(1999);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(settled).toBe(true);
  });
});
