import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { withFileLock } from '../../src/core/dir-lock.js';
import { deadPid } from '../helpers/netlab-process.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'netlab-lock-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});


describe('withFileLock', () => {
  it('lets one holder in at a time, the second once the first is done', async () => {
    const lock = join(dir, 'a.lock');
    const events: string[] = [];
    let releaseFirst!: () => void;
    const firstIn = new Promise<void>((r) => {
      const first = withFileLock(lock, { timeoutMs: 10_000, staleAfterMs: 60_000 }, async () => {
        events.push('first in');
        expect(await readFile(lock, 'utf8')).toBe(`${process.pid}\n`);
        r();
        await new Promise<void>((release) => (releaseFirst = release));
        events.push('first out');
      });
      void first;
    });
    await firstIn;
    const second = withFileLock(lock, { timeoutMs: 10_000, staleAfterMs: 60_000 }, async () => {
      events.push('second in');
    });
    releaseFirst();
    await second;
    expect(events).toEqual(['first in', 'first out', 'second in']);
    await expect(readFile(lock)).rejects.toThrow(/ENOENT/);
  });

  it('takes over a lock left by a process that died holding it', async () => {
    const lock = join(dir, 'b.lock');
    await writeFile(lock, `${await deadPid()}\n`);
    expect(await withFileLock(lock, { timeoutMs: 10_000, staleAfterMs: 60_000 }, async () => readFile(lock, 'utf8'))).toBe(`${process.pid}\n`);
  });

  it('takes over a lock naming this process that this process does not hold (a restarted container reuses pids)', async () => {
    const lock = join(dir, 'c.lock');
    await writeFile(lock, `${process.pid}\n`);
    expect(await withFileLock(lock, { timeoutMs: 10_000, staleAfterMs: 60_000 }, async () => 'in')).toBe('in');
  });

  it('gives up, naming the holder, when a live process keeps the lock past the timeout', async () => {
    const lock = join(dir, 'd.lock');
    const holder = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
    try {
      await writeFile(lock, `${holder.pid}\n`);
      await expect(withFileLock(lock, { timeoutMs: 300, staleAfterMs: 60_000 }, async () => 'in')).rejects.toThrow(`${lock} is still held by pid ${holder.pid}`);
    } finally {
      holder.kill('SIGKILL');
    }
  });

  it('takes over a lock older than staleAfterMs even when its pid runs (a pid reused by another process)', async () => {
    const lock = join(dir, 'e.lock');
    const holder = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)']);
    try {
      await writeFile(lock, `${holder.pid}\n`);
      const old = new Date(Date.now() - 120_000);
      await utimes(lock, old, old);
      expect(await withFileLock(lock, { timeoutMs: 10_000, staleAfterMs: 60_000 }, async () => 'in')).toBe('in');
    } finally {
      holder.kill('SIGKILL');
    }
  });
});
