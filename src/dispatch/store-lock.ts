import { spawnSync } from 'node:child_process';
import { closeSync, constants, ftruncateSync, openSync, readFileSync, writeSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { StoreLockedError } from './store-errors.js';

/** The lock file in `--data`: held under an exclusive flock for the dispatcher's life; it names the holder. */
export const LOCK_FILE = 'dispatcher.lock';
/** How long the one-off `flock` helper may take to take the lock (it never waits for it: -n). */
const FLOCK_TIMEOUT_MS = 5000;

/** What the lock file says about its holder. */
export interface LockHolder {
  pid: number;
  host: string;
  port: number | null;
  startedAt: string;
}

/**
 * One writer per store. LMDB lets any number of processes write one environment, so two dispatchers
 * on one directory would both hand out the same queued messages; the lock is ours, beside the store.
 *
 * The lock is a BSD flock on `dispatcher.lock`, as bbolt takes on its file: the kernel drops it when the
 * process dies in any way (SIGKILL included), so a stale lock never blocks a restart, and pid reuse (pid 1
 * in every container) fools nothing. Node has no flock(2); the lock is taken by `flock -n -x 3` (util-linux
 * or busybox) run once on our own descriptor: a flock belongs to the open file description, which the child
 * shares and this process keeps open after the child exits, so the lock stays ours until we close it or die.
 * Where no `flock` program exists (macOS), the lock falls back to the holder's pid: refused while that pid
 * lives on this host (and is not us); weaker (two starting at the same instant can both win), and said so.
 */
export class StoreLock {
  private released = false;

  private constructor(
    private readonly fd: number,
    readonly path: string,
    private holder: LockHolder,
    /** "flock" or "pid": how the lock is held (logged at start). */
    readonly kind: 'flock' | 'pid',
  ) {}

  /** Takes the lock on `dir` (which must exist) or throws StoreLockedError naming the holder. */
  static acquire(dir: string, port: number | null): StoreLock {
    const path = join(dir, LOCK_FILE);
    const fd = openSync(path, constants.O_RDWR | constants.O_CREAT, 0o644);
    let kind: 'flock' | 'pid';
    try {
      const result = spawnSync('flock', ['-n', '-x', '3'], { stdio: ['ignore', 'ignore', 'pipe', fd], timeout: FLOCK_TIMEOUT_MS });
      if (result.error && (result.error as NodeJS.ErrnoException).code === 'ENOENT') {
        const holder = readHolder(path);
        if (holder && holder.host === hostname() && holder.pid !== process.pid && pidAlive(holder.pid)) throw lockedError(dir, holder);
        kind = 'pid';
      } else if (result.status === 0) {
        kind = 'flock';
      } else if (result.status === 1) {
        throw lockedError(dir, readHolder(path));
      } else {
        const why = result.error?.message ?? (result.stderr.toString().trim() || `exit ${result.status ?? result.signal}`);
        throw new StoreLockedError(`--data ${dir}: could not lock ${path} (flock: ${why})`);
      }
    } catch (err) {
      closeSync(fd);
      throw err;
    }
    const lock = new StoreLock(fd, path, { pid: process.pid, host: hostname(), port, startedAt: new Date().toISOString() }, kind);
    lock.write();
    return lock;
  }

  /** Records the port really listened on (it is 0 until the server is up with --port 0). */
  setPort(port: number): void {
    this.holder = { ...this.holder, port };
    this.write();
  }

  /** Lets the next dispatcher in. The file stays (unlinking a flocked file lets two holders in). */
  release(): void {
    if (this.released) return;
    this.released = true;
    try {
      ftruncateSync(this.fd);
    } finally {
      closeSync(this.fd);
    }
  }

  private write(): void {
    const text = JSON.stringify(this.holder) + '\n';
    ftruncateSync(this.fd);
    writeSync(this.fd, text, 0);
  }
}

function readHolder(path: string): LockHolder | undefined {
  try {
    const holder = JSON.parse(readFileSync(path, 'utf8')) as LockHolder;
    return typeof holder.pid === 'number' ? holder : undefined;
  } catch {
    return undefined;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function lockedError(dir: string, holder: LockHolder | undefined): StoreLockedError {
  const who = holder
    ? `dispatcher pid ${holder.pid} on ${holder.host}${holder.port !== null ? ` (port ${holder.port})` : ''} since ${holder.startedAt}`
    : 'another process';
  return new StoreLockedError(`--data ${dir} is in use by ${who}: stop it first, or give this dispatcher another --data`);
}
