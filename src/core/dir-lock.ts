import { readFile, stat, unlink, writeFile } from 'node:fs/promises';
import { sleep } from './async.js';

/** How often a waiter looks at the lock file again. */
export const LOCK_POLL_MS = 100;
/** A lock file still empty after this long was left by a process that died between creating and writing it. */
const EMPTY_LOCK_STALE_MS = 10_000;
/** Lock files this process holds: one naming our pid but not in here was left by an earlier process that had it (a container restarted). */
const held = new Set<string>();

/**
 * Runs `fn` while holding `lockPath`: a file created exclusively (O_EXCL) holding this process's
 * pid, removed afterwards. A waiter polls until it is gone, and takes over a lock whose process no
 * longer runs (killed mid-start), or that is older than `staleAfterMs` (no holder takes that long, so
 * its pid was reused); it gives up after `timeoutMs`. For short critical sections between processes of one machine
 * (initdb and the first start of a data directory); two processes taking over the same stale lock at
 * the same moment could both go on, which PostgreSQL's own postmaster.pid then catches.
 */
export async function withFileLock<T>(lockPath: string, { timeoutMs, staleAfterMs }: { timeoutMs: number; staleAfterMs: number }, fn: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await writeFile(lockPath, `${process.pid}\n`, { flag: 'wx', mode: 0o644 });
      held.add(lockPath);
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = await lockHolder(lockPath, staleAfterMs);
    if (holder === 'stale') {
      await unlink(lockPath).catch(() => {});
      continue;
    }
    if (Date.now() > deadline) {
      throw new Error(`${lockPath} is still held by pid ${holder ?? '?'} after ${timeoutMs} ms: if no netlab is starting, remove it`);
    }
    await sleep(LOCK_POLL_MS);
  }
  try {
    return await fn();
  } finally {
    held.delete(lockPath);
    await unlink(lockPath).catch(() => {});
  }
}

/** The holder's pid, 'stale' when it has died, or undefined when the file is gone or not yet written. */
async function lockHolder(lockPath: string, maxAgeMs: number): Promise<number | 'stale' | undefined> {
  let text: string;
  let age: number;
  try {
    text = await readFile(lockPath, 'utf8');
    age = Date.now() - (await stat(lockPath)).mtimeMs;
  } catch {
    return undefined;
  }
  const pid = Number.parseInt(text, 10);
  if (!Number.isInteger(pid) || pid <= 0) return age > EMPTY_LOCK_STALE_MS ? 'stale' : undefined;
  if (age > maxAgeMs || (pid === process.pid && !held.has(lockPath))) return 'stale';
  try {
    process.kill(pid, 0);
    return pid;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH' ? 'stale' : pid;
  }
}
