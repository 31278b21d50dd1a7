import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { freePort, startNetlabPerTest } from '../helpers/netlab-process.js';
import { metricValue, tcpPeer } from '../pingpong/tcp-peer.js';

// Every process a test starts is stopped after it, even when the test fails half-way.
const startNetlab = startNetlabPerTest();

const tmp = () => mkdtempSync(join(tmpdir(), 'netlab-pingpong-'));
const readLines = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean);
const requestNumbers = (lines: string[]) => lines.filter((l) => !l.includes(';;;')).map((l) => Number(/;\[(\d+)\] PING;/.exec(l)![1]));

describe('pingpong robustness', () => {
  it('a client started before the server connects when it comes up, reconnects after a restart, and keeps its counter', async () => {
    const dir = tmp();
    const port = await freePort();
    const scale = ['--time-scale', '0.02'];
    const serverFlags = [...scale, '--ignore-probability', '0'];
    const client = startNetlab(['pingpong-client', '--port', String(port), '--log', join(dir, 'client.log'), '--stats', join(dir, 'stats.json'), ...scale]);
    await client.waitFor(/unreachable/);
    const first = startNetlab(['pingpong-server', '--port', String(port), '--log', join(dir, 'server1.log'), ...serverFlags]);
    await first.waitFor(/^Client 1 connected/);
    await first.waitFor(/^Client 1 disconnected|never/, 1500).catch(() => undefined); // let it run ~1.5 s
    expect(await first.stop()).toBe(0);
    await client.waitFor(/connection closed by the server/);
    const second = startNetlab(['pingpong-server', '--port', String(port), '--log', join(dir, 'server2.log'), ...serverFlags]);
    await second.waitFor(/^Client 1 connected/);
    await client.waitFor(/reconnected/);
    await new Promise((r) => setTimeout(r, 1000));
    expect(await client.stop()).toBe(0);
    await second.stop();

    const before = requestNumbers(readLines(join(dir, 'server1.log')));
    const after = requestNumbers(readLines(join(dir, 'server2.log')));
    // A server logs each request when it answers it, and answers are delayed independently: the log's
    // order is the answers' order, so the counter is judged by the smallest and largest n.
    expect(Math.min(...before)).toBe(0);
    expect(after.length).toBeGreaterThan(3);
    expect(Math.min(...after)).toBeGreaterThan(Math.max(...before)); // the counter went on, it did not restart at 0
    const all = requestNumbers(readLines(join(dir, 'client.log'))).sort((a, b) => a - b);
    expect(all).toEqual(all.map((_, i) => i)); // every request has exactly one client.log line
    expect(JSON.parse(readFileSync(join(dir, 'stats.json'), 'utf8'))).toMatchObject({ reconnects: 1 });
  });

  it('counts bad and over-long lines, keeps the connection, and closes it past --max-bad-lines', async () => {
    const port = await freePort();
    const metricsPort = await freePort();
    const server = startNetlab(['pingpong-server', '--port', String(port), '--log', '', '--ignore-probability', '0', '--time-scale', '0.01', '--max-bad-lines', '3'], { METRICS_PORT: String(metricsPort) });
    await server.waitFor(/listening/);
    const peer = await tcpPeer(port);
    peer.send('hello\n');
    peer.send('x'.repeat(5000) + '\n');
    peer.send('[0] PING\r\n');
    expect(await peer.waitForLine(/PONG/)).toMatch(/^\[\d+\/0\] PONG \(1\)$/);
    peer.send('[1] PONG\n');
    await new Promise((r) => setTimeout(r, 200));
    expect(peer.socket.destroyed).toBe(false);
    peer.send('\u00ff\n'); // the fourth bad line: over the limit of 3
    await peer.closed;
    expect(await metricValue(metricsPort, 'netlab_pingpong_bad_lines_total', { reason: 'malformed' })).toBe(2);
    expect(await metricValue(metricsPort, 'netlab_pingpong_bad_lines_total', { reason: 'too_long' })).toBe(1);
    expect(await metricValue(metricsPort, 'netlab_pingpong_bad_lines_total', { reason: 'not_ascii' })).toBe(1);
    expect(await metricValue(metricsPort, 'netlab_pingpong_clients_dropped_total', { reason: 'bad_lines' })).toBe(1);
    expect(server.output()).toMatch(/bad line from client 1 \(too_long\)/);
    await server.stop();
  });

  it('drops a client that never reads, while another client keeps getting its keepalives', async () => {
    const port = await freePort();
    const metricsPort = await freePort();
    // Answers within 1 ms, a keepalive every 100 ms.
    const server = startNetlab(
      ['pingpong-server', '--port', String(port), '--log', '', '--quiet', '--ignore-probability', '0', '--time-scale', '0.001', '--keepalive-period', '100s'],
      { METRICS_PORT: String(metricsPort) },
    );
    await server.waitFor(/listening/);
    const good = await tcpPeer(port);
    const deaf = await tcpPeer(port, { read: false });
    // ~4 MB of requests whose ~7 MB of answers it never reads.
    const batch = Array.from({ length: 10_000 }, (_, n) => `[${n}] PING\n`).join('');
    for (let i = 0; i < 40 && !deaf.socket.destroyed; i++) {
      deaf.socket.write(batch);
      await new Promise((r) => setTimeout(r, 20));
    }
    await server.waitFor(/dropping client 2 \(it stopped reading\)/, 30_000);
    deaf.close(); // a socket that never reads would not even notice it was cut
    const seen = good.lines.length;
    await good.waitForLine(new RegExp(`^\\[\\d+\\] keepalive$`)); // still served
    await new Promise((r) => setTimeout(r, 350));
    expect(good.lines.length).toBeGreaterThan(seen + 1);
    expect(good.socket.destroyed).toBe(false);
    expect(await metricValue(metricsPort, 'netlab_pingpong_clients_dropped_total', { reason: 'slow_reader' })).toBe(1);
    expect(await metricValue(metricsPort, 'netlab_pingpong_connected_clients')).toBe(1);
    good.close();
    await server.stop();
  });
});
