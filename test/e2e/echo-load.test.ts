/** `netlab echo-load` against a real echo-server, and against a server whose echo is wrong. */
import { createServer, type Server } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { listen } from '../../src/core/net.js';
import { freePort, startNetlabPerTest } from '../helpers/netlab-process.js';

const start = startNetlabPerTest();
const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

describe('echo-load', () => {
  it('keeps paced traffic on an echo server, checks every echo and reports it in metrics and its summary', async () => {
    const [port, metricsPort] = await Promise.all([freePort(), freePort()]);
    const server = start(['echo-server', `--port=${port}`, '--host=127.0.0.1']);
    await server.waitFor(/listening|echo server/i);
    const load = start(['echo-load', `--port=${port}`, '--connections=3', '--rate=20', '--size=100', '--duration=3s', `--metrics-port=${metricsPort}`, '--metrics-host=127.0.0.1']);
    await load.waitFor(/echo load: 3 connections/);
    // Wait for the first echoes to show in the metrics (an event, not a time).
    let scrape: string;
    for (;;) {
      scrape = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
      if (/^netlab_echo_load_echoed_total\{[^}]*\} [1-9]/m.test(scrape)) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(scrape).toMatch(/^netlab_echo_load_errors_total\{reason="mismatch"[^}]*\} 0$/m);
    expect(await load.exited).toBe(0);
    const done = await load.waitFor(/echo load done/);
    const summary = JSON.parse(done) as { echoed: number; errors: Record<string, number> };
    // 3 connections x 20/s for 3 s is at most 180 (paced: never a burst to catch up).
    expect(summary.echoed).toBeGreaterThan(0);
    expect(summary.echoed).toBeLessThanOrEqual(3 * 20 * 3 + 3);
    expect(summary.errors).toEqual({ connect: 0, reset: 0, timeout: 0, mismatch: 0 });
  });

  it('exits 1 when the echo is not the bytes it sent', async () => {
    const liar = createServer((s) => s.on('data', (c: Buffer) => s.write(Buffer.from(c).reverse())));
    servers.push(liar);
    const port = await listen(liar, { host: '127.0.0.1', port: 0 });
    const load = start(['echo-load', `--port=${port}`, '--connections=1', '--rate=50', '--size=64', '--duration=1s']);
    expect(await load.exited).toBe(1);
    expect(load.output()).toMatch(/"mismatch":[1-9]/);
  });
});
