import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT_UNAVAILABLE } from '../../src/core/exit-codes.js';
import type { ExperimentReport } from '../../src/core/experiment-report.js';
import { probeReusePort } from '../../src/core/net.js';
import { MARKER_SETS, logLineParser } from '../../src/pingpong/log-format.js';
import { MAIN, freePort, startNetlabPerTest } from '../helpers/netlab-process.js';
import { metricValue, tcpPeer, type TcpPeer } from '../pingpong/tcp-peer.js';

// pingpong-server --threads N: the connections spread over worker threads that share the port; the
// client numbers, the counter, server.log, the console lines and the metrics must read as one server.

const startNetlab = startNetlabPerTest();
const tmp = () => mkdtempSync(join(tmpdir(), 'netlab-pingpong-threads-'));
const kOf = (text: string) => Number(/^\[(\d+)/.exec(text)![1]);
const reusePort = await probeReusePort();

describe.runIf(reusePort.supported)('pingpong-server --threads', () => {
  it('passes every check of the exercise run with the server on 2 threads', async () => {
    const dir = tmp();
    const run = startNetlab(['pingpong', '--clients', '6', '--duration', '2m', '--time-scale', '0.02', '--dir', dir, '--port', '0', '--seed', '11', '--threads', '2', '--report', join(dir, 'report.json')]);
    const code = await run.exited;
    expect(code, existsSync(join(dir, 'report.json')) ? JSON.stringify((JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as ExperimentReport).checks.filter((c) => !c.pass)) : run.output().slice(-2000)).toBe(0);
    const out = run.stdout().split('\n').filter((l) => !l.startsWith('{'));
    for (let id = 1; id <= 6; id++) expect(out.filter((l) => new RegExp(`^Client ${id} connected: \\('127\\.0\\.0\\.1', \\d+\\)$`).test(l))).toHaveLength(1);
    const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as ExperimentReport;
    expect(report.checks.filter((c) => !c.pass)).toEqual([]);
    expect(report.checks.map((c) => c.name)).toEqual(expect.arrayContaining(['counter gap-free', 'counter order', 'pairing correct', 'keepalive period']));
    // 6 clients for 2.4 s at one PING every 6-60 ms: about 400 when the machine is free, 99 was seen on a
    // loaded one. The bound only says every client kept working: at least 5 each at the slowest pace.
    expect(report.headline.requests).toBeGreaterThanOrEqual(6 * 5);
  });

  it('numbers clients in connection order and keeps k gap-free and increasing across threads, keepalives and server.log', async () => {
    const dir = tmp();
    const port = await freePort();
    const metricsPort = await freePort();
    // Answers after 1-10 ms, a keepalive every 50 ms: many numbers taken by both threads at once.
    const server = startNetlab(
      ['pingpong-server', '--port', String(port), '--threads', '2', '--log', join(dir, 'server.log'), '--ignore-probability', '0', '--time-scale', '0.01', '--seed', '5'],
      { METRICS_PORT: String(metricsPort), LOG_LEVEL: 'debug' },
    );
    await server.waitFor(/listening/);
    const peers: TcpPeer[] = [];
    for (let id = 1; id <= 24; id++) {
      peers.push(await tcpPeer(port));
      await server.waitFor(new RegExp(`^Client ${id} connected: \\('127\\.0\\.0\\.1', ${peers.at(-1)!.socket.localPort}\\)$`));
    }
    // Each client learns its number from its first answer: the order it connected in.
    peers.forEach((p) => p.send('[0] PING\n'));
    for (const [i, p] of peers.entries()) expect(await p.waitForLine(/PONG/)).toMatch(new RegExp(`^\\[\\d+/0\\] PONG \\(${i + 1}\\)$`));
    for (let n = 1; n <= 40; n++) for (const p of peers) p.send(`[${n}] PING\n`);
    for (const p of peers) await p.waitForLine(/^\[\d+\/40\] PONG/);
    await new Promise((r) => setTimeout(r, 200)); // a few more keepalives with everyone connected

    expect(await metricValue(metricsPort, 'netlab_pingpong_connected_clients')).toBe(24);
    expect(await metricValue(metricsPort, 'netlab_pingpong_connections_total')).toBe(24);
    expect(await metricValue(metricsPort, 'netlab_pingpong_requests_total', { outcome: 'answered' })).toBe(24 * 41);
    expect(await metricValue(metricsPort, 'netlab_pingpong_keepalives_total')).toBeGreaterThan(3);
    expect(await metricValue(metricsPort, 'netlab_pingpong_threads_heap_used_bytes')).toBeGreaterThan(0);
    // Both threads hold clients (all 24 on one would take 1 chance in 2^23).
    const parts = server.output().split('\n').filter((l) => l.includes('keepalive sent')).map((l) => (JSON.parse(l) as { perThread: number[] }).perThread);
    expect(parts.at(-1)!.every((n) => n > 0)).toBe(true);

    // One keepalive every client must get: the last one the first client has read before the stop (a
    // broadcast that the stop cuts short may reach only some; that one proves nothing).
    const keepaliveKs = peers[0]!.lines.filter((l) => l.endsWith('keepalive')).map(kOf);
    expect(keepaliveKs.length).toBeGreaterThan(0);
    const lastKeepalive = Math.max(...keepaliveKs);
    for (const p of peers) await p.waitForLine(new RegExp(`^\\[${lastKeepalive}\\] keepalive$`));

    expect(await server.stop()).toBe(0);
    expect(server.output()).toMatch(/pingpong server stopped/);
    for (const p of peers) await p.closed;

    const seen = new Map<number, Set<string>>();
    for (const p of peers) {
      const ks = p.lines.map(kOf);
      for (let i = 1; i < ks.length; i++) expect(ks[i], `client ${peers.indexOf(p) + 1}: ${p.lines[i]} after ${p.lines[i - 1]}`).toBeGreaterThan(ks[i - 1]!);
      p.lines.forEach((text, i) => seen.set(ks[i]!, (seen.get(ks[i]!) ?? new Set()).add(text)));
    }
    const all = [...seen.keys()].sort((a, b) => a - b);
    expect(all).toEqual(all.map((_, i) => i)); // 0..max, no gap, no number on two different lines
    for (const texts of seen.values()) expect(texts.size).toBe(1);
    expect(peers.every((p) => p.lines.includes(`[${lastKeepalive}] keepalive`))).toBe(true); // one k for all

    const lines = readFileSync(join(dir, 'server.log'), 'utf8').split('\n').filter(Boolean);
    const entries = lines.map(logLineParser(MARKER_SETS.ru, 'server'));
    expect(entries.every(Boolean)).toBe(true); // whole lines only, from both threads
    const pongKs = entries.map((e) => (e as { k: number }).k);
    expect(pongKs).toHaveLength(24 * 41);
    for (let i = 1; i < pongKs.length; i++) expect(pongKs[i]).toBeGreaterThan(pongKs[i - 1]!);
  });

  it('fails to start, like one thread, when the port is taken', async () => {
    const port = await freePort();
    const first = startNetlab(['pingpong-server', '--port', String(port), '--log', '']);
    await first.waitFor(/listening/);
    const second = startNetlab(['pingpong-server', '--port', String(port), '--log', '', '--threads', '2']);
    expect(await second.exited).toBe(EXIT_UNAVAILABLE);
    expect(second.stderr()).toMatch(/EADDRINUSE/);
    await first.stop();
  });
});

// The machine's older Node (if any) has no reusePort: --threads must say so and exit 69 (EXIT_UNAVAILABLE).
const oldNode = ['/usr/bin/node', '/usr/local/bin/node'].find((p) => {
  if (!existsSync(p)) return false;
  const [major, minor] = execFileSync(p, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim().split('.').map(Number);
  return major! < 22 || (major === 22 && minor! < 12);
});
it.skipIf(!oldNode)('pingpong-server --threads 2 says it is unavailable on a Node without reusePort and exits 69', () => {
  let code = 0;
  let stderr = '';
  try {
    execFileSync(oldNode!, [MAIN, 'pingpong-server', '--threads', '2', '--port', '0', '--log', '', '--metrics-port', '0'], { encoding: 'utf8', stdio: 'pipe' });
  } catch (err) {
    code = (err as { status: number }).status;
    stderr = (err as { stderr: string }).stderr;
  }
  expect(code).toBe(EXIT_UNAVAILABLE);
  expect(stderr).toMatch(/--threads 2 is not available: .*reusePort/);
});
