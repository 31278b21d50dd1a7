import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRunDir, takeLabLock } from '../../src/lab/run-dir.js';
import { deadPid } from '../helpers/netlab-process.js';

let base: string;
beforeAll(async () => {
  base = await mkdtemp(join(tmpdir(), 'netlab-run-dir-'));
});
afterAll(async () => {
  await rm(base, { recursive: true, force: true });
});


describe('createRunDir', () => {
  it('gives runs started in the same second folders of their own', async () => {
    const now = new Date('2026-12-01T10:00:00.123Z');
    const dirs = await Promise.all([1, 2, 3, 4].map(() => createRunDir(join(base, 'results'), now)));
    expect(new Set(dirs).size).toBe(4);
    expect(dirs.map((d) => basename(d)).sort()).toEqual(['2026-12-01T10-00-00', '2026-12-01T10-00-00-2', '2026-12-01T10-00-00-3', '2026-12-01T10-00-00-4']);
  });
});

describe('takeLabLock', () => {
  it('takes a free lock, names a live holder to the next lab, and releases only its own', async () => {
    const file = join(base, 'a.lock');
    const first = takeLabLock('/results/one', file);
    expect(first.other).toBeUndefined();
    expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ pid: process.pid, dir: '/results/one' });
    const second = takeLabLock('/results/two', file);
    expect(second.other).toMatchObject({ pid: process.pid, dir: '/results/one' });
    second.release();
    expect(existsSync(file)).toBe(true);
    first.release();
    expect(existsSync(file)).toBe(false);
  });

  it('takes over a stale lock whose pid is dead', async () => {
    const file = join(base, 'b.lock');
    await writeFile(file, JSON.stringify({ pid: await deadPid(), startedAt: 'earlier', dir: '/gone' }));
    const lock = takeLabLock('/results/three', file);
    expect(lock.other).toBeUndefined();
    expect(JSON.parse(await readFile(file, 'utf8'))).toMatchObject({ pid: process.pid, dir: '/results/three' });
    lock.release();
  });
});
