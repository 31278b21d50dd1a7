import { mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** Folders tried for one second's name (`…-2`, `…-3`, …) before giving up. */
export const MAX_RUN_DIR_SUFFIX = 1000;
/** The machine-wide lock of a running lab (NETLAB_LAB_LOCK overrides it). */
export const DEFAULT_LOCK_FILE = join(tmpdir(), 'netlab-lab.lock');

const timestamp = (d: Date) => d.toISOString().replace(/[:.]/g, '-').slice(0, 19);

/**
 * A folder of its own for this run: `<base>/<timestamp>`, or `<timestamp>-2`, `-3`, … when another run
 * took that name in the same second. Created with a plain mkdir of the final path (never recursive there),
 * so of two runs racing for a name exactly one gets it.
 */
export async function createRunDir(base: string, now = new Date()): Promise<string> {
  await mkdir(base, { recursive: true });
  const name = timestamp(now);
  for (let i = 1; i <= MAX_RUN_DIR_SUFFIX; i++) {
    const dir = resolve(base, i === 1 ? name : `${name}-${i}`);
    try {
      await mkdir(dir);
      return dir;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
  }
  throw new Error(`no free results folder for ${name} in ${base}`);
}

export interface LockHolder {
  pid: number;
  startedAt: string;
  dir: string;
}

export interface LabLock {
  /** The other lab running on this machine when this one started, if any (this one then holds no lock). */
  other?: LockHolder;
  release(): void;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/**
 * Takes the machine's lab lock: a file created exclusively, holding this process's pid. A lock whose
 * pid is dead is stale and taken over. A live one is not waited for (the run goes on, warned: two labs
 * side by side skew each other's numbers). `release` removes the file only if it is still ours.
 */
export function takeLabLock(dir: string, file = process.env.NETLAB_LAB_LOCK || DEFAULT_LOCK_FILE): LabLock {
  const mine: LockHolder = { pid: process.pid, startedAt: new Date().toISOString(), dir };
  const text = JSON.stringify(mine) + '\n';
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      writeFileSync(file, text, { flag: 'wx' });
      const release = () => {
        try {
          if (readFileSync(file, 'utf8') === text) unlinkSync(file);
        } catch {
          // gone already
        }
      };
      process.once('exit', release);
      return { release };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') mkdirSync(resolve(file, '..'), { recursive: true });
      else if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = readHolder(file);
    if (holder && alive(holder.pid)) return { other: holder, release: () => {} };
    try {
      unlinkSync(file); // stale: its lab died without removing it
    } catch {
      // another lab removed it first
    }
  }
  return { release: () => {} };
}

function readHolder(file: string): LockHolder | undefined {
  try {
    const h = JSON.parse(readFileSync(file, 'utf8')) as LockHolder;
    return typeof h.pid === 'number' ? h : undefined;
  } catch {
    return undefined; // being written, or not ours: treated as stale
  }
}
