import { Worker } from 'node:worker_threads';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { mulberry32 } from '../../src/core/prng.js';
import { MARKER_SETS, logLineParser } from '../../src/pingpong/log-format.js';
import { PingPongServerCore, type ServerObserver, type ServerSettings } from '../../src/pingpong/server-core.js';
import { SharedServerState } from '../../src/pingpong/shared-state.js';
import { FakePeer, MemoryLog, scripted } from './fakes.js';

// The cores of `pingpong-server --threads N`, one per thread, sharing one SharedServerState. Here
// they share it on one thread (so timers are fake and the interleaving is chosen by the test); the
// last test takes the lock from real threads.

const SETTINGS: ServerSettings = {
  ignoreProbability: 0,
  answerDelayMinMs: 100,
  answerDelayMaxMs: 1000,
  keepalivePeriodMs: 5000,
  maxBadLines: 10,
  maxPendingAnswers: 1000,
  markers: MARKER_SETS.ru,
};
const line = (text: string) => ({ kind: 'line' as const, text });
const kOf = (sent: string) => Number(/^\[(\d+)/.exec(sent)![1]);

function threads(count: number, random: (i: number) => () => number = (i) => mulberry32(i + 1), observer: (i: number) => ServerObserver = () => ({})) {
  const state = SharedServerState.create(count);
  const log = new MemoryLog(); // one file: every thread appends to it
  const cores = Array.from({ length: count }, (_, i) => new PingPongServerCore(SETTINGS, random(i), log, observer(i), () => Date.now(), state));
  return { state, log, cores };
}

describe('ping-pong server threads (shared client numbers and counter)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: new Date(2025, 7, 22, 12, 0, 0, 0) });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('numbers clients from 1 in connection order, whichever thread accepts them', () => {
    const { state, cores } = threads(2);
    const order = [0, 1, 1, 0, 1, 0, 0];
    expect(order.map((t) => cores[t]!.connect(new FakePeer()).id)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(state.connections).toBe(7);
    expect(state.connected).toBe(7);
    expect(cores[0]!.connected + cores[1]!.connected).toBe(7);
  });

  it('counts the connected clients of every thread, once per client', () => {
    const { state, cores } = threads(2);
    const a = cores[0]!.connect(new FakePeer());
    const b = cores[1]!.connect(new FakePeer());
    cores[0]!.disconnect(a);
    cores[0]!.disconnect(a);
    expect(state.connected).toBe(1);
    cores[1]!.disconnect(b);
    expect(state.connected).toBe(0);
    expect(state.connections).toBe(2);
  });

  it('keeps one gap-free k across threads, PONGs and keepalives; one k per broadcast for every client; k increasing for each client and in server.log', () => {
    const { cores, log, state } = threads(3);
    const peers = Array.from({ length: 9 }, () => new FakePeer());
    const sessions = peers.map((p, i) => ({ core: cores[i % 3]!, session: cores[i % 3]!.connect(p) }));
    const anchor = Date.now();
    for (const core of cores) core.startKeepalives(anchor);
    for (let t = 0; t < 600; t++) {
      const { core, session } = sessions[t % 9]!;
      core.receive(session, line(`[${Math.floor(t / 9)}] PING`));
      vi.advanceTimersByTime(50);
    }
    vi.advanceTimersByTime(1000);
    for (const core of cores) core.stopKeepalives();

    const byK = new Map<number, Set<string>>();
    for (const peer of peers) {
      const ks = peer.sent.map(kOf);
      for (let i = 1; i < ks.length; i++) expect(ks[i]).toBeGreaterThan(ks[i - 1]!);
      peer.sent.forEach((s, i) => byK.set(ks[i]!, (byK.get(ks[i]!) ?? new Set()).add(s)));
    }
    const all = [...byK.keys()].sort((a, b) => a - b);
    expect(all).toEqual(all.map((_, i) => i)); // 0..max, no gap
    expect(all.length).toBe(state.nextK);
    const keepalives = [...byK].filter(([, texts]) => [...texts][0]!.endsWith('keepalive'));
    expect(keepalives).toHaveLength(6); // 5 s .. 30 s
    for (const [k] of keepalives) expect(peers.every((p) => p.sent.includes(`[${k}] keepalive`))).toBe(true); // one k, every client
    for (const [, texts] of byK) if (![...texts][0]!.endsWith('keepalive')) expect(texts.size).toBe(1); // a PONG number is used once
    const logged = log.lines.map(logLineParser(MARKER_SETS.ru, 'server'));
    expect(logged.every(Boolean)).toBe(true);
    const pongKs = logged.map((e) => (e as { k: number }).k);
    expect(pongKs).toHaveLength(600);
    for (let i = 1; i < pongKs.length; i++) expect(pongKs[i]).toBeGreaterThan(pongKs[i - 1]!);
  });

  it("sends a keepalive another thread already numbered before a PONG numbered after it, even before its own timer fires", () => {
    const { cores } = threads(2, () => scripted(0.5, 0));
    const a = new FakePeer();
    const b = new FakePeer();
    cores[0]!.connect(a);
    const sb = cores[1]!.connect(b);
    const anchor = Date.now();
    // Thread 0's timer fires at the slot; thread 1's is late (a busy loop), and an answer is due meanwhile.
    cores[0]!.startKeepalives(anchor);
    vi.advanceTimersByTime(4950);
    cores[1]!.receive(sb, line('[0] PING')); // answered 100 ms later, at 5050
    vi.advanceTimersByTime(50);
    expect(a.sent).toEqual(['[0] keepalive']);
    expect(b.sent).toEqual([]);
    vi.advanceTimersByTime(100);
    expect(b.sent).toEqual(['[0] keepalive', '[1/0] PONG (2)']);
    // Its timer, when it comes, does not send the same keepalive twice.
    cores[1]!.startKeepalives(anchor); // at 5100: slot 1 is past, already sent
    vi.advanceTimersByTime(4900);
    expect(b.sent).toEqual(['[0] keepalive', '[1/0] PONG (2)', '[2] keepalive']);
    expect(a.sent).toEqual(['[0] keepalive', '[2] keepalive']);
  });

  it('spends no number on a keepalive when nobody is connected to any thread, and one when anyone is', () => {
    const reports: { thread: number; k: number; recipients: number }[] = [];
    const { cores, state } = threads(2, undefined, (thread) => ({ keepalive: (k, recipients) => reports.push({ thread, k, recipients }) }));
    const anchor = Date.now();
    for (const core of cores) core.startKeepalives(anchor);
    vi.advanceTimersByTime(5000);
    expect(state.nextK).toBe(0);
    expect(reports).toEqual([]);
    const peer = new FakePeer();
    cores[1]!.connect(peer); // thread 0 has nobody, thread 1 one client
    vi.advanceTimersByTime(5000);
    expect(state.nextK).toBe(1);
    expect(peer.sent).toEqual(['[0] keepalive']);
    expect(reports.sort((x, y) => x.thread - y.thread)).toEqual([
      { thread: 0, k: 0, recipients: 0 },
      { thread: 1, k: 0, recipients: 1 },
    ]);
  });

  it('never sends a keepalive before its slot, even when the timer fires early by the wall clock', () => {
    const sent: number[] = [];
    const { cores } = threads(1, undefined, () => ({ keepalive: () => sent.push(Date.now()) }));
    cores[0]!.connect(new FakePeer());
    const anchor = Date.now() + 3; // the slot falls between the ticks the timer was set from
    cores[0]!.startKeepalives(anchor);
    vi.setSystemTime(Date.now() - 2); // the wall clock steps back: the timer now fires 2 ms before the slot
    vi.advanceTimersByTime(5010);
    expect(sent).toHaveLength(1);
    expect(sent[0]).toBeGreaterThanOrEqual(anchor + 5000);
  });

  it('abandons an answer to a client that left without spending a number, across threads', () => {
    const outcomes: string[] = [];
    const { cores, state } = threads(2, () => scripted(0.5, 0), () => ({ request: (_s, o) => outcomes.push(o) }));
    const gone = cores[0]!.connect(new FakePeer());
    const stay = new FakePeer();
    const s = cores[1]!.connect(stay);
    cores[0]!.receive(gone, line('[0] PING'));
    cores[1]!.receive(s, line('[0] PING'));
    cores[0]!.disconnect(gone);
    vi.advanceTimersByTime(100);
    expect(stay.sent).toEqual(['[0/0] PONG (2)']);
    expect(state.nextK).toBe(1);
    expect(outcomes.sort()).toEqual(['abandoned', 'answered']);
  });
});

describe('SharedServerState lock', () => {
  it('excludes real threads from each other: 4 threads x 20,000 unguarded increments lose none, and k stays gap-free', async () => {
    const state = SharedServerState.create(4);
    const plain = new Int32Array(new SharedArrayBuffer(4)); // incremented without atomics, only under the lock
    const moduleUrl = new URL('../../dist/pingpong/shared-state.js', import.meta.url).href;
    const code = `
      const { workerData, parentPort } = require('node:worker_threads');
      import(workerData.moduleUrl).then(({ SharedServerState }) => {
        const state = new SharedServerState(workerData.buffer);
        const plain = new Int32Array(workerData.plain);
        let last = -1, ordered = true;
        for (let i = 0; i < 20000; i++) {
          state.lock();
          const v = plain[0]; plain[0] = v + 1;
          const k = state.takeK(); if (k <= last) ordered = false; last = k;
          state.unlock();
        }
        parentPort.postMessage(ordered);
      });`;
    const results = await Promise.all(
      Array.from({ length: 4 }, () => {
        const worker = new Worker(code, { eval: true, workerData: { buffer: state.buffer, plain: plain.buffer, moduleUrl } });
        return new Promise<boolean>((resolve, reject) => {
          worker.once('message', resolve);
          worker.once('error', reject);
        }).finally(() => worker.terminate());
      }),
    );
    expect(results).toEqual([true, true, true, true]);
    expect(plain[0]).toBe(80_000);
    expect(state.nextK).toBe(80_000);
  });
});
