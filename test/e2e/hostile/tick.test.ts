/**
 * `netlab tick` under bad input and faults, as processes over the real NATS and RabbitMQ: malformed
 * and forged ticks on the peer's key, a broker that is not there, an unwritable --json.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBus, type Bus } from '../../../src/tick/bus.js';
import { decodeTick, MAX_TICK_BYTES } from '../../../src/tick/protocol.js';
import type { TickRunResult } from '../../../src/tick/tick-app.js';
import { parseSummaryLine } from '../../../src/tick/tick-stats.js';
import { freePort, startNetlabPerTest, type NetlabProcess } from '../../helpers/netlab-process.js';
import { brokerGates, randomChannel, until } from '../../tick/brokers.js';

const gates = await brokerGates();
const start = startNetlabPerTest();
const dtLines = (p: NetlabProcess) => p.stdout().split('\n').filter((l) => l.startsWith('dt='));
const rejectionLines = (p: NetlabProcess) => p.stdout().split('\n').filter((l) => l.includes("rejected message on the peer's key"));
const readJson = async (file: string) => JSON.parse(await readFile(file, 'utf8')) as TickRunResult;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'netlab-tick-hostile-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function tick(name: string, peer: string, bus: string, channel: string, extra: string[] = []): NetlabProcess {
  return start(['tick', '--name', name, '--peer', peer, '--bus', bus, '--channel', channel, '--summary-every', '1s', ...extra]);
}

/** Each forged message and the reason app1 must give for turning it away. */
function forgeries(boot: string, nowS: number): [string | Uint8Array, string][] {
  return [
    ['{"src":"app2","seq":3,"t":1e308}', 'bad-time'], // the message that killed the reader
    [`{"src":"app2","seq":3,"t":0,"boot":"${boot}"}`, 'bad-time'],
    [`{"src":"app2","seq":3,"t":1e11,"boot":"${boot}"}`, 'bad-time'],
    [`{"src":"app2","seq":0,"t":${nowS},"boot":"forged"}`, 'unknown-boot'],
    [`{"src":"app2","seq":1000000000000000,"t":${nowS},"boot":"${boot}"}`, 'bad-seq'],
    [`{"src":"app2","seq":3,"t":${nowS},"boot":"${boot}","echo_seq":1,"echo_t":${nowS},"echo_age_us":5000000}`, 'bad-echo'],
    [`{"src":"app3","seq":3,"t":${nowS}}`, 'wrong-source'],
    ['{"src":"app2","seq":-1,"t":1}', 'bad-schema'],
    ['not json', 'not-json'],
    [new Uint8Array(MAX_TICK_BYTES + 1).fill(0x20), 'too-large'],
  ];
}

for (const gate of gates) {
  describe.runIf(gate.run)(`netlab tick over ${gate.kind}, under bad input`, () => {
    beforeAll(() => gate.assertAvailable());

    it('turns away malformed and forged ticks: counted by reason, out of dt and loss, and the reader keeps reading', async () => {
      const ch = randomChannel('hostile');
      const json1 = join(dir, `${ch}-app1.json`);
      const json2 = join(dir, `${ch}-app2.json`);
      const metricsPort = await freePort();
      const app1 = tick('app1', 'app2', gate.url, ch, ['--json', json1, '--metrics-port', String(metricsPort), '--metrics-host', '127.0.0.1']);
      const app2 = tick('app2', 'app1', gate.url, ch, ['--json', json2, '--print', 'none']);
      let boot: string | undefined;
      const forger: Bus = await createBus(gate.url, { clientName: 'netlab-tick-forger' });
      // The forger reads app2's real ticks to learn its boot id, as anyone on the bus can.
      forger.subscribe(`${ch}.app2`, (body) => {
        const d = decodeTick(body);
        if (d.ok && d.tick.src === 'app2') boot ??= d.tick.boot;
      });
      forger.start();
      try {
        await until(() => forger.connected && boot !== undefined && dtLines(app1).length >= 20, 'app1 hearing app2, the forger knowing its boot', 30_000);
        const sent = forgeries(boot!, Date.now() / 1000);
        for (const [body] of sent) forger.publish(`${ch}.app2`, typeof body === 'string' ? new TextEncoder().encode(body) : body);
        await until(() => rejectionLines(app1).length >= sent.length, 'every forgery rejected and logged', 30_000);
        const heard = dtLines(app1).length;
        // Before the fix NATS's reader was dead by now and RabbitMQ had closed the channel (541).
        await until(() => dtLines(app1).length >= heard + 50, 'app1 still hearing app2 after the forgeries', 30_000);
        const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
        expect(metrics).toMatch(/netlab_tick_rejected_total\{[^}]*reason="bad-time"[^}]*\} 3\n/);
        expect(metrics).toMatch(/netlab_tick_rejected_total\{[^}]*reason="handler-error"[^}]*\} 0\n/);
        expect(await app1.stop()).toBe(0);
        expect(await app2.stop()).toBe(0);
      } finally {
        await forger.close();
      }
      const [r1, r2] = [await readJson(json1), await readJson(json2)];
      expect(r1.rejected_by_reason).toEqual({ 'too-large': 1, 'not-json': 1, 'bad-schema': 1, 'bad-time': 3, 'bad-echo': 1, 'wrong-source': 1, 'unknown-boot': 1, 'bad-seq': 1, 'handler-error': 0 });
      expect(r1).toMatchObject({ rejected: 10, lost: 0, duplicates: 0, restarts: 0, disconnects: 0, subscription_losses: 0 });
      // Only real ticks arrived: never more than app2 sent (the forgeries once made it 204 of 200).
      expect(r1.received).toBeGreaterThan(0);
      expect(r1.received).toBeLessThanOrEqual(r2.sent);
      // No forged time in the figures (they once read dt max = 1796161399785242 µs): all under a minute.
      expect(Math.abs(r1.dt_us.max)).toBeLessThan(60_000_000);
      for (const line of dtLines(app1)) expect(Math.abs(Number(line.slice(3)))).toBeLessThan(60);
      // The final summary line says how many were turned away.
      const final = app1.stdout().split('\n').filter((l) => l.startsWith('summary ')).at(-1)!;
      expect(parseSummaryLine(final)).toHaveProperty('rejected');
      expect(app1.stdout()).toMatch(/app1 done: received \d+, lost 0, rejected 10 \(too-large 1, not-json 1, bad-schema 1, bad-time 3, bad-echo 1, wrong-source 1, unknown-boot 1, bad-seq 1\), disconnects 0, subscription losses 0/);
    });

    it('refuses an unwritable --json at start, before connecting: one line, exit 2', async () => {
      const notADir = join(dir, `${randomChannel('file')}.txt`);
      await writeFile(notADir, 'a file, so nothing can be created under it\n');
      const json = join(notADir, 'result.json');
      const app = tick('app1', 'app2', gate.url, randomChannel('json'), ['--json', json, '--duration', '60s']);
      expect(await app.exited).toBe(2);
      expect(app.stderr().trim().split('\n')).toEqual([`netlab tick: --json: cannot write "${json}": cannot create its folder (a part of "${notADir}" is a file, not a folder: EEXIST)`]);
      expect(app.stdout()).not.toMatch(/ticking|connected to/);
    });
  });
}

describe('netlab tick without a broker', () => {
  for (const scheme of ['nats', 'amqp'] as const) {
    const urlAt = (port: number) => (scheme === 'nats' ? `nats://127.0.0.1:${port}` : `amqp://guest:guest@127.0.0.1:${port}`);

    it(`${scheme}: fails after --connect-timeout with one line naming the URL and what to do, exit 1`, async () => {
      const port = await freePort();
      const app = tick('app1', 'app2', urlAt(port), 'nobody', ['--connect-timeout', '1s']);
      expect(await app.exited).toBe(1);
      const errors = app.stderr().trim().split('\n');
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(new RegExp(`^netlab tick: no broker at ${scheme}://(guest:\\*\\*\\*@)?127\\.0\\.0\\.1:${port} answered within 1\\.0 s \\(.+\\); start one with`));
    });

    it(`${scheme}: a --duration shorter than the connect timeout still fails when nothing answered, exit 1`, async () => {
      const port = await freePort();
      const app = tick('app1', 'app2', urlAt(port), 'nobody', ['--duration', '1s']);
      expect(await app.exited).toBe(1);
      expect(app.stderr()).toMatch(/^netlab tick: no broker at .* answered within 1\.0 s/);
    });
  }
});
