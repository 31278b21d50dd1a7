import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { mulberry32 } from '../../src/core/prng.js';
import { MARKER_SETS, logLineParser } from '../../src/pingpong/log-format.js';
import { PingPongServerCore, decideAnswer, type ServerObserver, type ServerSettings } from '../../src/pingpong/server-core.js';
import { FakePeer, MemoryLog, scripted } from './fakes.js';

const SETTINGS: ServerSettings = {
  ignoreProbability: 0.1,
  answerDelayMinMs: 100,
  answerDelayMaxMs: 1000,
  keepalivePeriodMs: 5000,
  maxBadLines: 10,
  maxPendingAnswers: 1000,
  markers: MARKER_SETS.ru,
};
const line = (text: string) => ({ kind: 'line' as const, text });

function setup(random = mulberry32(1), settings: Partial<ServerSettings> = {}, observer: ServerObserver = {}) {
  const log = new MemoryLog();
  const core = new PingPongServerCore({ ...SETTINGS, ...settings }, random, log, observer, () => Date.now());
  return { core, log };
}

describe('ping-pong server protocol state', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: new Date(2025, 7, 22, 12, 0, 0, 0) });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('numbers clients from 1 in connection order and answers [k/n] PONG (id) after the delay', () => {
    const { core, log } = setup(scripted(0.5, 0.0)); // not ignored, shortest delay
    const a = new FakePeer();
    const b = new FakePeer();
    expect(core.connect(a).id).toBe(1);
    const sb = core.connect(b);
    expect(sb.id).toBe(2);
    core.receive(sb, line('[0] PING'));
    vi.advanceTimersByTime(99);
    expect(b.sent).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(b.sent).toEqual(['[0/0] PONG (2)']);
    expect(a.sent).toEqual([]);
    expect(log.lines).toEqual(['2025-08-22;12:00:00.000;[0] PING;12:00:00.100;[0/0] PONG (2)']);
  });

  it('handles each request on its own: a slow answer does not hold up the next request', () => {
    // request 0: delay 0.9 -> 910 ms; request 1: delay 0.1 -> 190 ms
    const { core } = setup(scripted(0.5, 0.9, 0.5, 0.1));
    const peer = new FakePeer();
    const s = core.connect(peer);
    core.receive(s, line('[0] PING'));
    core.receive(s, line('[1] PING'));
    vi.advanceTimersByTime(1000);
    expect(peer.sent).toEqual(['[0/1] PONG (1)', '[1/0] PONG (1)']);
  });

  it('logs an ignored request at once and never answers it', () => {
    const { core, log } = setup(scripted(0.05));
    const peer = new FakePeer();
    core.receive(core.connect(peer), line('[3] PING'));
    vi.advanceTimersByTime(5000);
    expect(peer.sent).toEqual([]);
    expect(log.lines).toEqual(['2025-08-22;12:00:00.000;[3] PING;(проигнорировано);(проигнорировано)']);
  });

  it('writes the English marker with --markers en', () => {
    const { core, log } = setup(scripted(0.05), { markers: MARKER_SETS.en });
    core.receive(core.connect(new FakePeer()), line('[3] PING'));
    expect(log.lines[0]).toBe('2025-08-22;12:00:00.000;[3] PING;(ignored);(ignored)');
  });

  it('decides like the exercise: 10% ignored, delays uniform over 100-1000 ms (100,000 draws, seed 1)', () => {
    const random = mulberry32(1);
    const total = 100_000;
    let ignored = 0;
    const tenths = new Array<number>(10).fill(0);
    let outside = 0;
    for (let i = 0; i < total; i++) {
      const d = decideAnswer(random, SETTINGS);
      if (d.ignore) ignored++;
      else if (d.delayMs < 100 || d.delayMs > 1000) outside++;
      else tenths[Math.min(9, Math.floor((d.delayMs - 100) / 90))]!++;
    }
    // Binomial(100000, 0.1): sigma = 95; allow 4 sigma.
    expect(Math.abs(ignored - 10_000)).toBeLessThan(380);
    expect(outside).toBe(0);
    // Uniform: each tenth of the range holds 10% of the answers (sigma ~0.1%; allow 0.5%).
    for (const count of tenths) expect(Math.abs(count / (total - ignored) - 0.1)).toBeLessThan(0.005);
  });

  it('logs what it decided: ignore share and delays measured from server.log (2,000 requests, seed 1)', () => {
    const { core, log } = setup(mulberry32(1));
    const sessions = Array.from({ length: 20 }, () => core.connect(new FakePeer()));
    for (let i = 0; i < 2000; i++) {
      core.receive(sessions[i % 20]!, line(`[${Math.floor(i / 20)}] PING`));
      if (i % 20 === 19) vi.advanceTimersByTime(10);
    }
    vi.advanceTimersByTime(1000);
    const entries = log.lines.map(logLineParser(MARKER_SETS.ru, 'server'));
    expect(entries.every(Boolean)).toBe(true);
    const ignored = entries.filter((e) => e!.kind === 'ignored').length;
    expect(Math.abs(ignored - 200)).toBeLessThan(54); // 4 sigma
    const delays = entries.flatMap((e) => (e!.kind === 'answered' ? [e!.responseMs - e!.requestMs] : []));
    expect(delays).toHaveLength(2000 - ignored);
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(100);
    expect(Math.max(...delays)).toBeLessThanOrEqual(1000);
    expect(Math.abs(delays.reduce((a, b) => a + b, 0) / delays.length - 550)).toBeLessThan(25); // mean of U(100,1000), sigma 6
  });

  it('shares one gap-free counter between PONGs and keepalives, in the order they go out', () => {
    const { core } = setup(mulberry32(5), { ignoreProbability: 0 });
    const peers = [new FakePeer(), new FakePeer(), new FakePeer()];
    const sessions = peers.map((p) => core.connect(p));
    core.startKeepalives();
    const order: number[] = [];
    for (let t = 0; t < 300; t++) {
      core.receive(sessions[t % 3]!, line(`[${t}] PING`));
      vi.advanceTimersByTime(100);
    }
    vi.advanceTimersByTime(1000);
    core.stopKeepalives();
    // Every k once across all peers (keepalives reach all three), and each peer sees k increasing.
    const ks = new Map<number, string>();
    for (const peer of peers) {
      const mine = peer.sent.map((s) => Number(/^\[(\d+)/.exec(s)![1]));
      for (let i = 1; i < mine.length; i++) expect(mine[i]).toBeGreaterThan(mine[i - 1]!);
      peer.sent.forEach((s, i) => ks.set(mine[i]!, s));
      order.push(...mine);
    }
    const all = [...ks.keys()].sort((a, b) => a - b);
    expect(all).toEqual(Array.from({ length: all.length }, (_, i) => i));
    expect(all.length).toBe(300 + 6); // 300 PONGs, keepalives at 5 s .. 30 s
    expect([...ks.values()].filter((s) => s.endsWith('keepalive'))).toHaveLength(6);
  });

  it('sends a keepalive to every client every period, on schedule, one number per broadcast', () => {
    const sent: { k: number; at: number; recipients: number; lag: number }[] = [];
    const { core } = setup(mulberry32(1), {}, { keepalive: (k, recipients, lag) => sent.push({ k, at: Date.now(), recipients, lag }) });
    const start = Date.now();
    const peers = [new FakePeer(), new FakePeer()];
    peers.forEach((p) => core.connect(p));
    core.startKeepalives();
    vi.advanceTimersByTime(15_000);
    expect(sent.map((s) => s.at - start)).toEqual([5000, 10_000, 15_000]);
    expect(sent.map((s) => s.k)).toEqual([0, 1, 2]);
    expect(sent.every((s) => s.recipients === 2 && s.lag === 0)).toBe(true);
    expect(peers[0]!.sent).toEqual(['[0] keepalive', '[1] keepalive', '[2] keepalive']);
    expect(peers[1]!.sent).toEqual(peers[0]!.sent);
  });

  it('never sends a keepalive before its slot, even when its timer fires early by the wall clock', () => {
    const sent: number[] = [];
    const { core } = setup(mulberry32(1), {}, { keepalive: () => sent.push(Date.now()) });
    core.connect(new FakePeer());
    const anchor = core.startKeepalives(Date.now() + 3);
    vi.setSystemTime(Date.now() - 2); // the wall clock steps back: the timer fires 2 ms before the slot by it
    vi.advanceTimersByTime(5010);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toBeGreaterThanOrEqual(anchor + 5000);
  });

  it('spends no number on a keepalive nobody receives, nor on an answer to a client that left', () => {
    const { core } = setup(scripted(0.5, 0.5));
    core.startKeepalives();
    vi.advanceTimersByTime(5000); // nobody connected: skipped
    const gone = new FakePeer();
    const s = core.connect(gone);
    core.receive(s, line('[0] PING'));
    core.disconnect(s);
    vi.advanceTimersByTime(1000); // answer abandoned
    const stay = new FakePeer();
    core.connect(stay);
    vi.advanceTimersByTime(4000);
    expect(stay.sent).toEqual(['[0] keepalive']);
    expect(gone.sent).toEqual([]);
  });

  it('abandons answers to a client whose write buffer is full, without a number', () => {
    const outcomes: string[] = [];
    const { core } = setup(scripted(0.5, 0.5), {}, { request: (_s, o) => outcomes.push(o) });
    const slow = new FakePeer();
    const ok = new FakePeer();
    const s1 = core.connect(slow);
    const s2 = core.connect(ok);
    core.receive(s1, line('[0] PING'));
    core.receive(s2, line('[0] PING'));
    slow.full = true;
    vi.advanceTimersByTime(1000);
    expect(slow.sent).toEqual([]);
    expect(ok.sent).toEqual(['[0/0] PONG (2)']);
    expect(outcomes.sort()).toEqual(['abandoned', 'answered']);
  });

  it('counts bad lines, keeps the connection, and closes it past the limit', () => {
    const bad: string[] = [];
    const { core } = setup(scripted(0.5, 0), { maxBadLines: 2 }, { badLine: (_s, reason) => bad.push(reason) });
    const peer = new FakePeer();
    const s = core.connect(peer);
    core.receive(s, line('hello'));
    core.receive(s, { kind: 'too-long', bytes: 5000 });
    core.receive(s, line('[0] PING'));
    vi.advanceTimersByTime(100);
    expect(peer.sent).toEqual(['[0/0] PONG (1)']);
    expect(peer.closedFor).toBeUndefined();
    core.receive(s, line('[1] PONG'));
    expect(bad).toEqual(['malformed', 'too_long', 'malformed']);
    expect(peer.closedFor).toBe('bad_lines');
  });

  it('stops reading a client with too many answers waiting, and reads again at half', () => {
    const { core } = setup(scripted(0.5), { maxPendingAnswers: 4, answerDelayMinMs: 100, answerDelayMaxMs: 100 });
    const peer = new FakePeer();
    const s = core.connect(peer);
    for (let n = 0; n < 3; n++) core.receive(s, line(`[${n}] PING`));
    expect(peer.paused).toBe(false);
    core.receive(s, line('[3] PING'));
    expect(peer.paused).toBe(true);
    vi.advanceTimersByTime(100);
    expect(peer.paused).toBe(false);
    expect(peer.sent).toHaveLength(4);
  });

  it('drains: whenDrained resolves once every decided answer went out', async () => {
    const { core } = setup(scripted(0.5, 1));
    const peer = new FakePeer();
    core.receive(core.connect(peer), line('[0] PING'));
    let drained = false;
    void core.whenDrained().then(() => (drained = true));
    await vi.advanceTimersByTimeAsync(999);
    expect(drained).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(drained).toBe(true);
    expect(peer.sent).toEqual(['[0/0] PONG (1)']);
  });
});
