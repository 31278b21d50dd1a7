import { describe, expect, it } from 'vitest';
import { createRegistry, Registry } from '../../src/core/metrics.js';
import { BusKind, StatusListeners, type Bus, type BusStatus, type BusStatusListener } from '../../src/tick/bus.js';
import { createTickMetrics, initTickMetrics } from '../../src/tick/metrics.js';
import { encodeTick } from '../../src/tick/protocol.js';
import { createTickRejections, TickApp, tickKey } from '../../src/tick/tick-app.js';
import { parseSummaryLine } from '../../src/tick/tick-stats.js';
import { silentLogger } from '../helpers/logger.js';

/**
 * An in-memory bus between apps in this test: delivery is synchronous and the test controls the
 * clock, so every dt and RTT is exact. (The real brokers are tested in bus.test.ts and e2e.)
 */
class LoopbackBus implements Bus {
  readonly kind = BusKind.Nats;
  readonly displayUrl = 'loopback://';
  connected = true;
  get subscribed() {
    return this.connected;
  }
  private readonly statusListeners = new StatusListeners();
  onStatus(listener: BusStatusListener) {
    return this.statusListeners.add(listener);
  }
  /** What a real bus would report about its connection. */
  status(s: BusStatus) {
    this.statusListeners.emit(s);
  }
  readonly handlers = new Map<string, (b: Uint8Array) => void>();
  /** Messages "in flight": delivered by deliver(). */
  readonly inFlight: { key: string; body: Uint8Array }[] = [];
  constructor(private readonly hub: LoopbackBus[]) {
    hub.push(this);
  }
  subscribe(key: string, handler: (b: Uint8Array) => void) {
    this.handlers.set(key, handler);
  }
  start() {}
  publish(key: string, body: Uint8Array) {
    if (!this.connected) return false;
    for (const bus of this.hub) if (bus.handlers.has(key)) bus.inFlight.push({ key, body });
    return true;
  }
  deliver() {
    for (const m of this.inFlight.splice(0)) this.handlers.get(m.key)!(m.body);
  }
  async close() {}
}

function pair(print: 'every' | 'summary' | 'none' = 'every', warmupUs = 0) {
  let now = 1_700_000_000_000_000;
  const clock = () => now;
  const hub: LoopbackBus[] = [];
  const make = (name: string, peer: string) => {
    const bus = new LoopbackBus(hub);
    const lines: string[] = [];
    const app = new TickApp({ name, peer, rate: 100, channel: 'c', print, summaryEveryMs: 0, spinUs: 0, warmupUs, bus, logger: silentLogger, clock, out: (l) => lines.push(l), bootId: `${name}-boot` });
    app.attach();
    return { app, bus, lines };
  };
  return { a: make('app1', 'app2'), b: make('app2', 'app1'), advance: (us: number) => (now += us), now: () => now };
}

const due = (seq: number, dueUs: number) => ({ seq, dueUs });

describe('TickApp (pure, on a loopback bus with a manual clock)', () => {
  it('prints dt for each peer tick and measures RTT/2 from the echo without using the peer clock', () => {
    const { a, b, advance, now } = pair();
    const t0 = now();
    a.app.onTick(due(0, t0), t0);
    advance(700); // app1 -> app2 takes 0.7 ms
    b.bus.deliver();
    expect(b.lines).toEqual(['dt=0.001']);
    advance(2000); // app2 holds it 2 ms until its own tick
    b.app.onTick(due(0, now()), now());
    advance(900); // app2 -> app1 takes 0.9 ms
    a.bus.deliver();
    expect(a.lines).toEqual(['dt=0.001']);
    const summary = a.app.emitSummary(true);
    expect(summary.dt).toMatchObject({ count: 1, p50: 900 });
    // RTT = 0.7 + 0.9 ms: the 2 ms app2 held the echo are taken off.
    expect(summary.rttHalf).toMatchObject({ count: 1, p50: 800 });
    expect(parseSummaryLine(a.lines.at(-1)!)).toMatchObject({ received: 1, lost: 0, dt_p50_us: 900, rtt_half_p50_us: 800, sent: 1 });
  });

  it('an app alone publishes and prints nothing until the peer starts', () => {
    const { a, advance, now } = pair();
    for (let i = 0; i < 50; i++) {
      a.app.onTick(due(i, now()), now());
      advance(10_000);
    }
    a.app.emitSummary(false);
    expect(a.lines).toEqual([]);
    expect(a.app.result()).toMatchObject({ sent: 50, received: 0 });
  });

  it('counts ticks it cannot publish while the bus is down, and keeps ticking', () => {
    const { a, b, advance, now } = pair();
    for (let i = 0; i < 10; i++) {
      a.bus.connected = i < 3 || i >= 7;
      a.app.onTick(due(i, now()), now());
      advance(10_000);
      b.bus.deliver();
    }
    expect(a.app.result()).toMatchObject({ sent: 6, unpublished: 4 });
    const seen = b.app.emitSummary(true);
    // The peer sees the four unpublished ticks as a gap.
    expect(seen).toMatchObject({ received: 6, lost: 4 });
  });

  it('notices a peer restart: printing resumes and the seq reset is not loss', () => {
    const { a, advance, now } = pair();
    const inject = (seq: number, boot: string) => a.bus.handlers.get(tickKey('c', 'app2'))!(encodeTick({ src: 'app2', seq, tUs: now() - 1000, boot }));
    for (let s = 0; s < 5; s++) {
      inject(s, 'first');
      advance(10_000);
    }
    advance(3_000_000);
    for (let s = 0; s < 5; s++) {
      inject(s, 'second');
      advance(10_000);
    }
    expect(a.lines.filter((l) => l.startsWith('dt='))).toHaveLength(10);
    expect(a.app.emitSummary(true)).toMatchObject({ received: 10, lost: 0, restarts: 1, duplicates: 0 });
  });

  it('counts reordered and duplicated peer ticks, and ignores messages that are not the peer\'s ticks', () => {
    const { a, now } = pair();
    const handler = a.bus.handlers.get(tickKey('c', 'app2'))!;
    for (const seq of [0, 1, 3, 2, 2, 4]) handler(encodeTick({ src: 'app2', seq, tUs: now(), boot: 'x' }));
    handler(new TextEncoder().encode('garbage'));
    handler(encodeTick({ src: 'intruder', seq: 9, tUs: now() }));
    expect(a.app.emitSummary(true)).toMatchObject({ received: 5, lost: 0, reordered: 1, duplicates: 1, rejected: 2 });
    expect(a.app.result().rejected_by_reason).toMatchObject({ 'not-json': 1, 'wrong-source': 1 });
  });

  it('rejects the issue\'s malformed and forged ticks: counted by reason, in none of the dt, RTT or loss figures', async () => {
    const registry = new Registry();
    const lines: string[] = [];
    let now = 1_800_000_000_000_000;
    const bus = new LoopbackBus([]);
    const app = new TickApp({ name: 'app1', peer: 'app2', rate: 100, channel: 'c', print: 'every', summaryEveryMs: 0, spinUs: 0, bus, logger: silentLogger, clock: () => now, out: (l) => lines.push(l), rejections: createTickRejections(registry, silentLogger) });
    app.attach();
    const handler = bus.handlers.get(tickKey('c', 'app2'))!;
    const raw = (json: string) => handler(new TextEncoder().encode(json));
    const real = (seq: number) => handler(encodeTick({ src: 'app2', seq, tUs: now - 1000, boot: 'real' }));
    for (let seq = 0; seq < 200; seq++) {
      real(seq);
      if (seq === 3) raw('{"src":"app2","seq":3,"t":1e308}');
      if (seq === 50) raw(`{"src":"app2","seq":51,"t":0,"boot":"real"}`);
      if (seq === 60) raw(`{"src":"app2","seq":61,"t":1e11,"boot":"real"}`);
      if (seq === 70) handler(encodeTick({ src: 'app2', seq: 0, tUs: now - 1000, boot: 'other' }));
      if (seq === 80) handler(encodeTick({ src: 'app2', seq: 1e15, tUs: now - 1000, boot: 'real' }));
      now += 10_000;
    }
    const summary = app.emitSummary(true);
    expect(summary).toMatchObject({ received: 200, lost: 0, duplicates: 0, restarts: 0, rejected: 5 });
    expect(summary.dt).toMatchObject({ count: 200, p50: 1000, max: 1000 });
    expect(lines.filter((l) => l.startsWith('dt='))).toHaveLength(200);
    expect(lines.every((l) => !l.startsWith('dt=') || l === 'dt=0.001')).toBe(true);
    expect(parseSummaryLine(lines.at(-1)!)).toMatchObject({ received: 200, rejected: 5, dt_max_us: 1000 });
    const r = app.result();
    expect(r).toMatchObject({ received: 200, lost: 0, rejected: 5, restarts: 0 });
    expect(r.rejected_by_reason).toEqual({ 'too-large': 0, 'not-json': 0, 'bad-schema': 0, 'bad-time': 3, 'bad-echo': 0, 'wrong-source': 0, 'unknown-boot': 1, 'bad-seq': 1, 'handler-error': 0 });
    const metrics = await registry.metrics();
    expect(metrics).toContain('netlab_tick_rejected_total{reason="bad-time"} 3');
    expect(metrics).toContain('netlab_tick_rejected_total{reason="too-large"} 0');
  });

  it('catches whatever throws while one message is handled, counts it, and handles the next one', () => {
    let now = 1_800_000_000_000_000;
    const bus = new LoopbackBus([]);
    let fail = true;
    const lines: string[] = [];
    const out = (l: string) => {
      if (fail && l.startsWith('dt=')) throw new TypeError('Value is not a valid number: -Infinity');
      lines.push(l);
    };
    const app = new TickApp({ name: 'app1', peer: 'app2', rate: 100, channel: 'c', print: 'every', summaryEveryMs: 0, spinUs: 0, bus, logger: silentLogger, clock: () => now, out });
    app.attach();
    const handler = bus.handlers.get(tickKey('c', 'app2'))!;
    expect(() => handler(encodeTick({ src: 'app2', seq: 0, tUs: now, boot: 'b' }))).not.toThrow();
    fail = false;
    now += 10_000;
    handler(encodeTick({ src: 'app2', seq: 1, tUs: now, boot: 'b' }));
    expect(lines).toEqual(['dt=0.000']);
    expect(app.result().rejected_by_reason['handler-error']).toBe(1);
    // The bus reports a handler that threw past its own guard the same way.
    bus.status({ type: 'handler-failed', key: 'c.app2', reason: 'boom' });
    expect(app.result().rejected_by_reason['handler-error']).toBe(2);
  });

  it('counts a subscription the broker ended and says so at the end', () => {
    const { a } = pair();
    a.bus.status({ type: 'subscription-lost', key: 'c.app2', reason: 'consumer cancelled by the broker' });
    expect(a.app.result().subscription_losses).toBe(1);
  });

  it('hears the bus status it subscribed to: disconnects counted, the connected gauge follows, nothing after stop', async () => {
    const registry = new Registry();
    const bus = new LoopbackBus([]);
    let now = 1_800_000_000_000_000;
    const app = new TickApp({ name: 'app1', peer: 'app2', rate: 100, channel: 'c', print: 'none', summaryEveryMs: 0, spinUs: 0, bus, logger: silentLogger, clock: () => now, metrics: createTickMetrics(registry) });
    const connectedGauge = async () => (await registry.getSingleMetric('netlab_tick_bus_connected')!.get()).values[0]?.value;
    app.attach();
    bus.status({ type: 'connected', reconnect: false });
    expect(await connectedGauge()).toBe(1);
    bus.status({ type: 'disconnected', reason: 'lost connection' });
    expect(await connectedGauge()).toBe(0);
    now += 1_000_000;
    bus.status({ type: 'connected', reconnect: true });
    expect(await connectedGauge()).toBe(1);
    expect(app.result().disconnects).toBe(1);
    await app.stop();
    bus.status({ type: 'disconnected', reason: 'after the run' });
    expect(app.result().disconnects).toBe(1);
  });

  it('--print summary prints summaries only; --print none prints nothing', () => {
    for (const mode of ['summary', 'none'] as const) {
      const { a, b, now } = pair(mode);
      a.app.onTick(due(0, now()), now());
      b.bus.deliver();
      b.app.emitSummary(true);
      expect(b.lines.filter((l) => l.startsWith('dt='))).toEqual([]);
      expect(b.lines.filter((l) => l.startsWith('summary '))).toHaveLength(mode === 'summary' ? 1 : 0);
    }
  });

  it('reports drift as ticks produced against the wall-clock span of the run', () => {
    const { a, advance, now } = pair();
    const start = now();
    for (let i = 0; i <= 100; i++) {
      advance(i === 0 ? 0 : 10_000);
      a.app.onTick(due(i, start + i * 10_000), now());
    }
    expect(a.app.result().drift_ticks).toBe(0);
  });

  it('leaves warm-up samples out of the run totals but still counts every tick', () => {
    const { a, b, advance, now } = pair('none', 1_000_000);
    for (let i = 0; i < 200; i++) {
      a.app.onTick(due(i, now()), now());
      advance(i < 100 ? 5000 : 500); // slow during the first second, fast after
      b.bus.deliver();
      advance(10_000 - (i < 100 ? 5000 : 500));
    }
    b.app.emitSummary(true);
    const r = b.app.result();
    expect(r.received).toBe(200);
    expect(r.dt_us).toMatchObject({ count: 100, p50: 500, max: 500 });
  });
});

describe('tick metrics before the first tick', () => {
  it('exist at 0 for the histograms too, so a quantile over rate() has samples from the first scrape', async () => {
    const registry = createRegistry('tick');
    const m = createTickMetrics(registry);
    initTickMetrics(m, 'nats', 'app2->app1');
    const text = await registry.metrics();
    for (const name of ['netlab_tick_dt_seconds', 'netlab_tick_rtt_seconds']) expect(text).toMatch(new RegExp(`${name}_count\\{[^}]*bus="nats",direction="app2->app1"[^}]*\\} 0`));
    expect(text).toMatch(/netlab_tick_schedule_jitter_seconds_count\{[^}]*bus="nats"[^}]*\} 0/);
  });
});
