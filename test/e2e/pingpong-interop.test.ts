import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { MARKER_SETS, logLineParser, type LogEntry } from '../../src/pingpong/log-format.js';
import { freePort, startNetlabPerTest } from '../helpers/netlab-process.js';

// Every process a test starts is stopped after it, even when the test fails half-way.
const startNetlab = startNetlabPerTest();

// The exercise's Python programs (re-created, see fixtures/README.md); only the port is ours.
const FIXTURES = fileURLToPath(new URL('../pingpong/fixtures/', import.meta.url));
const running: ChildProcess[] = [];

function python(script: string, args: string[], cwd: string, port: number): ChildProcess {
  const child = spawn('python3', [join(FIXTURES, script), ...args], { cwd, env: { ...process.env, PINGPONG_PORT: String(port) }, stdio: ['ignore', 'pipe', 'pipe'] });
  running.push(child);
  return child;
}

async function stopPython(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

async function waitForPort(port: number, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const up = await new Promise<boolean>((resolve) => {
      const s = connect({ host: '127.0.0.1', port }, () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (up) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on ${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function parseLog(file: string, side: 'server' | 'client'): LogEntry[] {
  const parse = logLineParser(MARKER_SETS.ru, side);
  const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  const entries = lines.map((l) => parse(l));
  const bad = lines.filter((_, i) => entries[i] === undefined);
  expect(bad, `lines of ${file} not in the exercise's format`).toEqual([]);
  return entries as LogEntry[];
}

const answered = (entries: LogEntry[]) => entries.filter((e): e is Extract<LogEntry, { kind: 'answered' }> => e.kind === 'answered');

afterEach(async () => {
  await Promise.all(running.splice(0).map(stopPython));
});

describe('pingpong interoperates with the exercise programs', () => {
  it('the netlab server serves the original Python client', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'netlab-pingpong-interop-'));
    const port = await freePort();
    const server = startNetlab(['pingpong-server', '--port', String(port), '--log', join(dir, 'server.log'), '--seed', '1', '--keepalive-period', '2s']);
    await server.waitFor(/listening/);
    const client = python('client.py', ['1'], dir, port);
    await server.waitFor(/^Client 1 connected: \('127\.0\.0\.1', \d+\)$/);
    await new Promise((r) => setTimeout(r, 6500));
    await stopPython(client);
    expect(await server.stop()).toBe(0);

    const clientLog = parseLog(join(dir, 'client1.log'), 'client');
    const serverLog = parseLog(join(dir, 'server.log'), 'server');
    expect(clientLog.some((e) => e.kind === 'keepalive')).toBe(true);
    const answers = answered(clientLog);
    expect(answers.length).toBeGreaterThan(0);
    const sent = new Map(answered(serverLog).map((e) => [e.k, e]));
    for (const a of answers) {
      expect(a.answerN).toBe(a.n); // the Python client takes any line as the answer; ours are always the right one
      expect(a.id).toBe(1);
      expect(sent.get(a.k)).toMatchObject({ n: a.n, id: 1 });
    }
  });

  it('the netlab client works against the original Python server', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'netlab-pingpong-interop-'));
    const port = await freePort();
    const server = python('server.py', [], dir, port);
    await waitForPort(port); // the probe is the Python server's client 1
    const client = startNetlab(['pingpong-client', '--port', String(port), '--log', join(dir, 'client.log'), '--stats', join(dir, 'stats.json'), '--duration', '7s', '--seed', '4']);
    expect(await client.exited).toBe(0);
    await stopPython(server);

    const clientLog = parseLog(join(dir, 'client.log'), 'client');
    const serverLog = parseLog(join(dir, 'server.log'), 'server');
    expect(clientLog.some((e) => e.kind === 'keepalive')).toBe(true); // the Python server's first keepalive is at 5 s
    const answers = answered(clientLog);
    expect(answers.length).toBeGreaterThan(0);
    const sent = new Map(answered(serverLog).map((e) => [e.k, e]));
    for (const a of answers) {
      expect(a.answerN).toBe(a.n);
      expect(a.id).toBe(2);
      expect(sent.get(a.k)).toMatchObject({ n: a.n, id: 2 });
    }
    const stats = JSON.parse(readFileSync(join(dir, 'stats.json'), 'utf8'));
    expect(stats.answered + stats.timeouts).toBe(stats.requests);
    expect(stats.badLines + stats.unexpected).toBe(0);
  });
});
