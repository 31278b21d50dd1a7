/** `netlab tick` as processes over the real NATS and RabbitMQ: the exercise's behaviour, outages, drift, detection. */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBus } from '../../src/tick/bus.js';
import { decodeTick, encodeTick, type Tick } from '../../src/tick/protocol.js';
import type { TickRunResult } from '../../src/tick/tick-app.js';
import { parseSummaryLine } from '../../src/tick/tick-stats.js';
import { freePort, startNetlab, type NetlabProcess } from '../helpers/netlab-process.js';
import { brokerGates, randomChannel, startTcpProxy, until } from '../tick/brokers.js';

const gates = await brokerGates();
const DT_LINE = /^dt=-?\d+\.\d{3}$/;
const lines = (p: NetlabProcess, re: RegExp) => p.stdout().split('\n').filter((l) => re.test(l));
const dtCount = (p: NetlabProcess) => lines(p, /^dt=/).length;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'netlab-tick-e2e-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function tick(name: string, peer: string, bus: string, channel: string, extra: string[] = []): NetlabProcess {
  return startNetlab(['tick', '--name', name, '--peer', peer, '--bus', bus, '--channel', channel, '--summary-every', '1s', ...extra]);
}
const readJson = async (file: string) => JSON.parse(await readFile(file, 'utf8')) as TickRunResult;

for (const gate of gates) {
  describe.runIf(gate.run)(`netlab tick over ${gate.kind}`, () => {
    beforeAll(() => gate.assertAvailable());

    it('alone it prints nothing; with the peer both print dt; a stopped peer stops the printing; a restarted one resumes it without loss', async () => {
      const ch = randomChannel('exercise');
      const json = join(dir, `${ch}-app1.json`);
      const metricsPort = await freePort();
      const app1 = tick('app1', 'app2', gate.url, ch, ['--json', json, '--metrics-port', String(metricsPort), '--metrics-host', '127.0.0.1']);
      try {
        await app1.waitFor(/connected to/);
        await pause(1200);
        expect(dtCount(app1)).toBe(0);
        expect(lines(app1, /^summary /)).toEqual([]);

        let app2 = tick('app2', 'app1', gate.url, ch);
        await until(() => dtCount(app1) >= 20 && dtCount(app2) >= 20, 'dt lines on both sides');
        expect(lines(app1, /^dt=/).every((l) => DT_LINE.test(l))).toBe(true);
        expect(lines(app2, /^dt=/).every((l) => DT_LINE.test(l))).toBe(true);
        const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
        expect(metrics).toMatch(new RegExp(`netlab_tick_dt_seconds_count\\{[^}]*bus="${gate.kind}"[^}]*direction="app2->app1"[^}]*\\} [1-9]`));
        expect(metrics).toMatch(new RegExp(`netlab_tick_rtt_seconds_count\\{[^}]*\\} [1-9]`));
        expect(metrics).toMatch(new RegExp(`netlab_tick_bus_connected\\{[^}]*bus="${gate.kind}"[^}]*\\} 1`));
        expect(metrics).toMatch(/netlab_tick_sent_total\{[^}]*\} [1-9]/);
        expect(metrics).toMatch(/netlab_tick_schedule_jitter_seconds_bucket/);
        expect(await app2.stop()).toBe(0);
        const final2 = parseSummaryLine(lines(app2, /^summary /).at(-1)!)!;
        expect(final2).toMatchObject({ lost: 0, duplicates: 0 });

        await pause(300);
        const whenStopped = dtCount(app1);
        await pause(1000);
        expect(dtCount(app1)).toBe(whenStopped);

        app2 = tick('app2', 'app1', gate.url, ch);
        await app1.waitFor(/peer app2 restarted/);
        await until(() => dtCount(app1) >= whenStopped + 20, 'dt lines again after the restart');
        await app2.stop();
      } finally {
        expect(await app1.stop()).toBe(0);
      }
      const result = await readJson(json);
      expect(result).toMatchObject({ restarts: 1, lost: 0, duplicates: 0, bus: gate.kind });
      expect(result.rtt_half_us.count).toBeGreaterThan(0);
    });

    it('counts lost, reordered and duplicated peer ticks that cross the broker', async () => {
      const ch = randomChannel('detect');
      const json = join(dir, `${ch}.json`);
      const app1 = tick('app1', 'app2', gate.url, ch, ['--print', 'summary', '--json', json]);
      const fake = await createBus(gate.url, { clientName: 'netlab-tick-test' });
      try {
        fake.start();
        await app1.waitFor(/connected to/);
        await until(() => fake.connected, 'test publisher connected');
        const t = Date.now() * 1000;
        for (const seq of [0, 1, 2, 4, 3, 3, 5, 8]) fake.publish(`${ch}.app2`, encodeTick({ src: 'app2', seq, tUs: t + seq * 10_000, boot: 'fake' }));
        await app1.waitFor(/^summary received=7 /);
      } finally {
        await fake.close();
        expect(await app1.stop()).toBe(0);
      }
      // Seqs 6 and 7 never came: lost at exit. 3 came late: reordered. The second 3: duplicate.
      expect(await readJson(json)).toMatchObject({ received: 7, lost: 2, reordered: 1, duplicates: 1, restarts: 0 });
    });

    it('keeps its schedule through a broker outage (cut at a proxy), counts what it could not send, and resumes within 5 s', async () => {
      const proxy = await startTcpProxy(gate.url);
      const ch = randomChannel('outage');
      const json1 = join(dir, `${ch}-app1.json`);
      const json2 = join(dir, `${ch}-app2.json`);
      const app1 = tick('app1', 'app2', proxy.rewrite(gate.url), ch, ['--json', json1]);
      const app2 = tick('app2', 'app1', gate.url, ch, ['--json', json2]);
      try {
        await until(() => dtCount(app1) > 10 && dtCount(app2) > 10, 'both printing');
        proxy.cut();
        await app1.waitFor(/lost the broker/, 10_000);
        await pause(1500);
        const [heard1, heard2] = [dtCount(app1), dtCount(app2)];
        proxy.restore();
        await app1.waitFor(/reconnected to .* after/, 5000);
        await until(() => dtCount(app2) > heard2 + 10, 'app2 hearing app1 again', 5000);
        await until(() => dtCount(app1) > heard1 + 10, 'app1 hearing app2 again', 5000);
      } finally {
        await app2.stop();
        await app1.stop();
        await proxy.close();
      }
      const [r1, r2] = [await readJson(json1), await readJson(json2)];
      expect(r1.disconnects).toBe(1);
      const outageUnpublished = r1.unpublished - r1.unpublished_before_connect;
      expect(outageUnpublished).toBeGreaterThan(50); // ~1.5 s at 100/s
      // app2 sees them as a gap in app1's seqs (plus any that died in the socket as it was cut).
      expect(r2.lost).toBeGreaterThanOrEqual(outageUnpublished);
      expect(r2.restarts).toBe(0);
      expect(Math.abs(r1.drift_ticks)).toBeLessThanOrEqual(1);
    });

    it('with --connect-timeout 0 keeps trying a broker that is not there at start, and says so', async () => {
      const port = await freePort();
      const url = Object.assign(new URL(gate.url), { hostname: '127.0.0.1', port: String(port) }).toString();
      const app = tick('app1', 'app2', url, 'nobody', ['--connect-timeout', '0']);
      try {
        const line = await app.waitFor(/not reachable/);
        expect(line).toContain(`127.0.0.1:${port}`);
        await app.waitFor(/attempt 3/);
        expect(app.child.exitCode).toBeNull();
      } finally {
        expect(await app.stop()).toBe(0);
      }
    });

    it('ticks on an absolute schedule: an observer on the bus counts exactly the ticks the wall clock calls for', async () => {
      const ch = randomChannel('drift');
      // 5 ms ticks: a loop that sleeps one period would lose ~1 in 5 to timer overshoot, 150+ over the run.
      const RATE = 200;
      const seen: Tick[] = [];
      const observer = await createBus(gate.url, { clientName: 'netlab-tick-test' });
      observer.subscribe(`${ch}.app1`, (b) => {
        const d = decodeTick(b);
        if (d.ok) seen.push(d.tick);
      });
      observer.start();
      await until(() => observer.connected, 'observer connected');
      const app1 = tick('app1', 'app2', gate.url, ch, ['--rate', String(RATE), '--duration', '4s', '--print', 'none']);
      try {
        expect(await app1.exited).toBe(0);
        await pause(200);
      } finally {
        await app1.stop();
        await observer.close();
      }
      expect(seen.length).toBeGreaterThan(RATE * 3);
      const first = seen[0]!;
      const last = seen.at(-1)!;
      // Every seq from the first seen to the last arrived once, in order...
      expect(seen.map((t) => t.seq)).toEqual(seen.map((_, i) => first.seq + i));
      // ...and their count keeps up with the wall clock. position_i = t_i / period - i is constant
      // plus each tick's own lateness on an absolute schedule, and grows with every tick on a
      // drifting one. Comparing the best-kept (least late) tick of the first and of the last second
      // makes single late ticks (a busy machine) irrelevant.
      const periodUs = 1e6 / RATE;
      const position = seen.map((t, i) => (t.tUs - first.tUs) / periodUs - i);
      const drift = Math.min(...position.slice(-RATE)) - Math.min(...position.slice(0, RATE));
      expect(Math.abs(drift)).toBeLessThanOrEqual(1);
      expect(last.seq - first.seq + 1).toBe(seen.length);
    });
  });
}

describe('netlab tick flags', () => {
  it('rejects bad flags with one line each and exit code 2', async () => {
    const p = startNetlab(['tick', '--rate', '0', '--print', 'loud', '--bus', 'http://127.0.0.1:1']);
    expect(await p.exited).toBe(2);
    expect(p.stderr()).toMatch(/--rate: must be at least 0.1/);
    expect(p.stderr()).toMatch(/--print: expected one of every, summary, none/);
    expect(p.stderr()).toMatch(/--bus: expected a URL starting with nats:\/\/ or amqp:\/\//);
  });

  it('rejects a peer with the same name', async () => {
    const p = startNetlab(['tick', '--name', 'app1', '--peer', 'app1', '--bus', 'nats://127.0.0.1:1']);
    expect(await p.exited).toBe(2);
    expect(p.stderr()).toMatch(/--peer: must differ from --name/);
  });
});
