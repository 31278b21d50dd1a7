import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { exitCodeOf, ProcessWaitError, startProcess, type RunningProcess } from '../../src/core/child-process.js';
import { freePort } from '../../src/core/net.js';

/** Runs a small Node script as the child. */
const node = (script: string, options: Parameters<typeof startProcess>[2] = {}): RunningProcess => startProcess(process.execPath, ['-e', script], options);

/** A child that prints "ready" and then idles until a signal ends it. */
const IDLE = "console.log('ready'); setInterval(() => {}, 1000);";

/** Alive and not a zombie (an orphan's parent in a container may never reap it). */
function alive(pid: number): boolean {
  const stat = `/proc/${pid}/stat`;
  if (!existsSync(stat)) return false;
  try {
    return readFileSync(stat, 'utf8').split(') ')[1]?.[0] !== 'Z';
  } catch {
    return false;
  }
}

async function gone(pid: number, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!alive(pid)) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

describe('exitCodeOf', () => {
  it('is the code, or 128 + the signal number', () => {
    expect(exitCodeOf(0, null)).toBe(0);
    expect(exitCodeOf(3, null)).toBe(3);
    expect(exitCodeOf(null, 'SIGINT')).toBe(130);
    expect(exitCodeOf(null, 'SIGTERM')).toBe(143);
    expect(exitCodeOf(null, 'SIGKILL')).toBe(137);
  });
});

describe('startProcess', () => {
  it('reports 130 for a child ended by SIGINT, 143 by SIGTERM, 137 by SIGKILL', async () => {
    const codes: number[] = [];
    for (const signal of ['SIGINT', 'SIGTERM', 'SIGKILL'] as const) {
      const p = node(IDLE);
      await p.waitFor(/^ready$/);
      codes.push(await p.stop(signal));
    }
    expect(codes).toEqual([130, 143, 137]);
  });

  it('reports the exit code a child chose', async () => {
    expect(await node('process.exit(7)').exited).toBe(7);
  });

  it('puts a UTF-8 character split across two writes back together', async () => {
    const euro = Buffer.from('€'); // 3 bytes
    const p = node(`
      const fs = require('node:fs');
      process.on('SIGUSR2', () => { fs.writeSync(1, Buffer.from([${euro[2]}, 10])); process.exit(0); });
      fs.writeSync(1, Buffer.from([97, ${euro[0]}, ${euro[1]}]));
      setInterval(() => {}, 1000);
    `);
    const chunks: string[] = [];
    // The first write is read on its own before the child sends the rest.
    p.child.stdout!.once('data', (chunk: string) => {
      chunks.push(chunk);
      p.child.kill('SIGUSR2');
    });
    expect(await p.waitFor(/€/)).toBe('a€');
    expect(await p.exited).toBe(0);
    expect(chunks).toEqual(['a']);
    expect(p.stdout()).toBe('a€\n');
  });

  it('waitFor resolves on a line printed later and finds one printed before', async () => {
    // The handler first: the parent sends the signal as soon as it reads 'one'.
    const p = node("process.on('SIGUSR2', () => { console.log('two'); console.error('three'); }); console.log('one'); setInterval(() => {}, 1000);");
    expect(await p.waitFor(/^one$/)).toBe('one');
    const later = p.waitFor((line) => line === 'three');
    p.child.kill('SIGUSR2');
    expect(await later).toBe('three');
    expect(await p.waitFor(/tw/)).toBe('two');
    expect(p.stderr()).toBe('three\n');
    await p.stop();
  });

  it('waitFor rejects when the process exits before printing the line', async () => {
    const p = node("console.log('hello'); process.exit(3)");
    const err = await p.waitFor(/never/).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProcessWaitError);
    expect((err as ProcessWaitError).kind).toBe('exited');
    expect((err as ProcessWaitError).exitCode).toBe(3);
    expect((err as Error).message).toContain('hello');
    // Asked after the exit, it rejects too.
    await expect(p.waitFor(/never/)).rejects.toThrow(/exited with code 3/);
  });

  it('waitFor rejects when the time runs out', async () => {
    const p = node(IDLE);
    const err = await p.waitFor(/never/, 200).catch((e: unknown) => e);
    expect((err as ProcessWaitError).kind).toBe('timeout');
    await p.stop('SIGKILL');
  });

  it('waitForHttp rejects as soon as the process exits, long before its timeout', async () => {
    const port = await freePort();
    const p = node('setTimeout(() => process.exit(2), 100)');
    const err = await p.waitForHttp(`http://127.0.0.1:${port}/readyz`, 60_000).catch((e: unknown) => e);
    expect((err as ProcessWaitError).kind).toBe('exited');
    expect((err as ProcessWaitError).exitCode).toBe(2);
  });

  it('waitForHttp resolves once the child answers 200', async () => {
    const port = await freePort();
    const p = node(`require('node:http').createServer((q, s) => s.end('ok')).listen(${port}, '127.0.0.1')`);
    await p.waitForHttp(`http://127.0.0.1:${port}/`, 30_000);
    expect(await p.stop('SIGTERM')).toBe(143);
  });

  it('a command that does not exist exits 127 and waitFor says it could not start', async () => {
    const p = startProcess('/nonexistent/netlab-no-such-command', []);
    expect(await p.exited).toBe(127);
    await expect(p.waitFor(/x/)).rejects.toMatchObject({ kind: 'spawn' });
  });

  const withGrandchild = `
    const { spawn } = require('node:child_process');
    const g = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    console.log('grandchild ' + g.pid);
    setInterval(() => {}, 1000);
  `;

  it('stops a process group with its grandchildren', async () => {
    const p = node(withGrandchild, { group: true });
    const grandchild = Number((await p.waitFor(/^grandchild \d+$/)).split(' ')[1]);
    expect(alive(grandchild)).toBe(true);
    expect(await p.stop('SIGTERM')).toBe(143);
    expect(await gone(grandchild)).toBe(true);
  });

  it('without a group only the child is stopped (the grandchild stays)', async () => {
    const p = node(withGrandchild);
    const grandchild = Number((await p.waitFor(/^grandchild \d+$/)).split(' ')[1]);
    try {
      expect(await p.stop('SIGTERM')).toBe(143);
      expect(alive(grandchild)).toBe(true);
    } finally {
      process.kill(grandchild, 'SIGKILL');
    }
  });

  it('keeps only the latest keepChars of each stream', async () => {
    const p = node("for (let i = 0; i < 100; i++) console.log('line ' + i)", { keepChars: 20 });
    const lines: string[] = [];
    const q = node("for (let i = 0; i < 100; i++) console.log('line ' + i)", { onLine: (l) => lines.push(l) });
    expect(await p.exited).toBe(0);
    expect(p.stdout()).toBe(' 97\nline 98\nline 99\n');
    expect(await q.exited).toBe(0);
    expect(lines).toHaveLength(100);
    expect(lines[99]).toBe('line 99');
  });
});
