import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ExperimentReport } from '../../src/core/experiment-report.js';
import type { ClientStats } from '../../src/pingpong/client.js';
import { MARKER_SETS, logLineParser, timeOfDayMs } from '../../src/pingpong/log-format.js';
import { freePort, startNetlabPerTest } from '../helpers/netlab-process.js';

// Every process a test starts is stopped after it, even when the test fails half-way.
const startNetlab = startNetlabPerTest();

const tmp = () => mkdtempSync(join(tmpdir(), 'netlab-pingpong-'));
const readLines = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean);

describe('netlab pingpong (the exercise run.py)', () => {
  it('runs a server and two clients, prints the exercise console lines, and its report passes', async () => {
    const dir = tmp();
    const run = startNetlab(['pingpong', '--clients', '2', '--duration', '2m', '--time-scale', '0.02', '--dir', dir, '--port', '0', '--seed', '7', '--report', join(dir, 'report.json')]);
    expect(await run.exited).toBe(0);
    const out = run.stdout().split('\n').filter((l) => !l.startsWith('{'));
    expect(out[0]).toMatch(/^Начало работы в \d\d:\d\d$/);
    expect(out).toContain('Сервер и два клиента запущены. Работаем 2 минуты...');
    expect(out.filter((l) => /^Client [12] connected: \('127\.0\.0\.1', \d+\)$/.test(l))).toHaveLength(2);
    expect(out.some((l) => /^\d\d:\d\d - Timeout! Завершаем процессы\.\.\.$/.test(l))).toBe(true);
    expect(out.filter((l) => l.startsWith('Все процессы завершены.'))).toHaveLength(1);
    // run.py's order: started, running, timeout, all stopped
    const at = (re: RegExp) => out.findIndex((l) => re.test(l));
    expect(at(/^Начало/)).toBeLessThan(at(/^Client 1 connected/));
    expect(at(/^Client 2 connected/)).toBeLessThan(at(/^Сервер и/)); // the run's clock starts once every client is connected
    expect(at(/Timeout!/)).toBeLessThan(at(/^Все процессы/));

    const report = JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as ExperimentReport;
    expect(report.checks.filter((c) => !c.pass)).toEqual([]);
    expect(report.checks.map((c) => c.name)).toEqual(
      expect.arrayContaining(['log format valid', 'counter gap-free', 'counter order', 'pairing correct', 'ignore ratio plausible', 'keepalive period']),
    );
    expect(report.headline.requests).toBeGreaterThan(50);
    expect(report.headline.keepalives).toBeGreaterThanOrEqual(10); // 24 periods in the run, less the clients' start-up
    expect(report.files.server_log).toBe(join(dir, 'server.log'));
    const server = readLines(join(dir, 'server.log'));
    const parse = logLineParser(MARKER_SETS.ru, 'server');
    expect(server.every((l) => parse(l) !== undefined)).toBe(true);
    expect(server.some((l) => l.endsWith(';(проигнорировано);(проигнорировано)'))).toBe(true);
    expect(readLines(join(dir, 'client1.log')).some((l) => /^\d{4}-\d\d-\d\d;;;\d\d:\d\d:\d\d\.\d{3};\[\d+\] keepalive$/.test(l))).toBe(true);
  });

  it('speaks English with --markers en, in the logs and on the console', async () => {
    const dir = tmp();
    const run = startNetlab(['pingpong', '--clients', '1', '--duration', '1m', '--time-scale', '0.02', '--dir', dir, '--port', '0', '--seed', '3', '--markers', 'en', '--ignore-probability', '0.5']);
    expect(await run.exited).toBe(0);
    expect(run.stdout()).toContain('Server and 1 client started. Running for 1 minute...');
    expect(run.stdout()).toContain('All processes stopped.');
    const server = readLines(join(dir, 'server.log'));
    const client = readLines(join(dir, 'client1.log'));
    expect(server.some((l) => l.endsWith(';(ignored);(ignored)'))).toBe(true);
    expect(client.some((l) => l.endsWith(';(timeout);(timeout)'))).toBe(true);
    expect([...server, ...client].some((l) => l.includes('проигнорировано') || l.includes('таймаут'))).toBe(false);
  });

  it('times out unanswered requests on time and counts answers that come later as late, unpaired', async () => {
    const dir = tmp();
    const port = await freePort();
    const server = startNetlab(['pingpong-server', '--port', String(port), '--log', join(dir, 'server.log'), '--ignore-probability', '0', '--delay-min', '3s', '--delay-max', '3s', '--time-scale', '0.02']);
    await server.waitFor(/listening/);
    const client = startNetlab([
      'pingpong-client', '--port', String(port), '--log', join(dir, 'client.log'), '--stats', join(dir, 'stats.json'), '--timeout', '2s',
      '--time-scale', '0.02', '--duration', '40s', '--seed', '1',
    ]);
    expect(await client.exited).toBe(0);
    await server.stop();
    const stats = JSON.parse(readFileSync(join(dir, 'stats.json'), 'utf8')) as ClientStats;
    expect(stats.requests).toBeGreaterThan(5);
    expect(stats.answered).toBe(0);
    expect(stats.timeouts).toBe(stats.requests);
    expect(stats.late).toBeGreaterThan(0);
    expect(client.output()).toMatch(/late answer to request \d+/);
    const lines = readLines(join(dir, 'client.log')).filter((l) => !l.includes(';;;'));
    expect(lines.every((l) => l.endsWith(';(таймаут);(таймаут)'))).toBe(true);
    expect(lines).toHaveLength(stats.requests);
  });

  it('sends a PING every interval whether or not the last one was answered', async () => {
    // A server that reads and never answers.
    const pings: { text: string; at: number }[] = [];
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => {
      sockets.add(socket);
      let tail = '';
      socket.on('data', (chunk) => {
        const parts = (tail + chunk.toString()).split('\n');
        tail = parts.pop()!;
        for (const text of parts) pings.push({ text, at: performance.now() });
      });
    });
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    const dir = tmp();
    // Intervals 3-30 ms, timeout 20 ms: the schedule must not wait for answers or timeouts.
    const client = startNetlab(['pingpong-client', '--port', String(port), '--log', join(dir, 'client.log'), '--time-scale', '0.01', '--duration', '100s', '--seed', '2']);
    expect(await client.exited).toBe(0);
    for (const s of sockets) s.destroy();
    silent.close();
    expect(pings.length).toBeGreaterThan(20);
    expect(pings.map((p) => p.text)).toEqual(pings.map((_, n) => `[${n}] PING`));
    const sent = readLines(join(dir, 'client.log')).map((l) => timeOfDayMs(l.split(';')[1]!)).sort((a, b) => a - b);
    const gaps = sent.slice(1).map((t, i) => t - sent[i]!);
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(2); // 3 ms, less the log's 1 ms truncation
    const mean = gaps.reduce((a, b) => a + b, 0) / gaps.length;
    expect(mean).toBeGreaterThan(10); // U(3, 30) averages 16.5 ms
    expect(mean).toBeLessThan(30);
  });
});
