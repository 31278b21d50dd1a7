import { createHash } from 'node:crypto';
import { chmod, cp, lstat, mkdir, mkdtemp, readdir, readFile, readlink, realpath, rename, rm, rmdir, stat, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, relative, resolve, sep } from 'node:path';
import type { Logger } from './logger.js';

/**
 * PostgreSQL refuses to run as root, so as root netlab runs it as the `postgres` user. That user
 * must be able to enter every directory above its binaries and its data directory, which a clone
 * under /root (mode 0700) does not allow. This file finds such barriers and works around them:
 * the binaries are copied once to a shared directory, and a data directory behind a barrier is kept
 * in one and linked from where it was asked for.
 */

export interface PostgresUser {
  uid: number;
  gid: number;
}

/** The parts of the package's `native/` tree PostgreSQL needs at run time (found relative to `bin/`). */
const NATIVE_PARTS = ['bin', 'lib', 'share'] as const;

/**
 * The first directory on the way to (and including) `dir` that `user` may not enter, or undefined.
 * Judged by mode bits the way the kernel does for a process with only that uid and gid (Node drops
 * supplementary groups when it spawns with `uid`/`gid`); ACLs are not read.
 */
export async function firstBarrier(dir: string, user: PostgresUser): Promise<string | undefined> {
  const parts = resolve(dir).split(sep).filter(Boolean);
  for (let i = 0; i <= parts.length; i++) {
    const path = sep + parts.slice(0, i).join(sep);
    let st;
    try {
      st = await stat(path);
    } catch {
      return undefined; // not there yet: whoever creates it decides its mode
    }
    const bit = st.uid === user.uid ? 0o100 : st.gid === user.gid ? 0o010 : 0o001;
    if (!(st.mode & bit)) return path;
  }
  return undefined;
}

/** Describes a barrier for a one-line message: `/root (mode 0700, owner uid 0)`. */
export async function describeBarrier(path: string): Promise<string> {
  const st = await stat(path);
  return `${path} (mode ${(st.mode & 0o777).toString(8).padStart(4, '0')}, owner uid ${st.uid})`;
}

/** A directory the `postgres` user can reach for netlab's shared files: $TMPDIR, else /var/tmp, else /tmp. */
export async function reachableBase(user: PostgresUser): Promise<string> {
  const candidates = [...new Set([tmpdir(), '/var/tmp', '/tmp'])];
  for (const dir of candidates) {
    if (!(await isDir(dir))) continue;
    if ((await firstBarrier(dir, user)) === undefined) return dir;
  }
  throw new Error(`user "postgres" can enter none of ${candidates.join(', ')}: set TMPDIR to a directory it can reach, or set DATABASE_URL`);
}

/**
 * Binaries `user` can run: the package's own when it can reach them, else a copy of `bin`, `lib` and
 * `share` in `base`, named by the package version and a hash of the tree, made once (in a temporary
 * directory renamed into place, so a reader never sees half a copy), owned by root, mode 0755.
 */
export async function reachableBinaries(
  bin: { initdb: string; postgres: string },
  user: PostgresUser,
  base: string,
  logger: Logger,
): Promise<{ initdb: string; postgres: string }> {
  const binDir = dirname(bin.postgres);
  if ((await firstBarrier(binDir, user)) === undefined) return bin;
  const native = dirname(binDir);
  const target = join(base, `netlab-pg-${await packageVersion(native)}-${await treeHash(native)}`);
  const paths = { initdb: join(target, 'bin', basename(bin.initdb)), postgres: join(target, 'bin', basename(bin.postgres)) };
  if (await trustedDir(target)) return paths;

  const barrier = await firstBarrier(binDir, user);
  logger.info({ from: native, to: target }, `user "postgres" cannot enter ${barrier}: copying the PostgreSQL binaries to ${target} (once)`);
  const scratch = await mkdtemp(join(base, '.netlab-pg-copy-'));
  try {
    for (const part of NATIVE_PARTS) await cp(join(native, part), join(scratch, part), { recursive: true, verbatimSymlinks: true });
    await chmod(scratch, 0o755); // mkdtemp made it 0700
    try {
      await rename(scratch, target);
    } catch (err) {
      // Another process made the same copy first: use theirs.
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw err;
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  if (!(await trustedDir(target))) throw new Error(`${target} exists but is not a directory owned by root and writable only by it: remove it`);
  return paths;
}

/**
 * The data directory to hand to PostgreSQL. When `user` can reach `dataDir`'s parent, that is
 * `dataDir` itself (through any symlink). Otherwise the data is kept in `<base>/netlab-pg-data/`,
 * under a name made from the asked-for path, and `dataDir` becomes a symlink to it, so that the next
 * start (and `ls -l`) finds it.
 */
export async function reachableDataDir(dataDir: string, user: PostgresUser, base: string, logger: Logger): Promise<string> {
  const asked = resolve(dataDir);
  const real = await realpathOrSelf(asked);
  await mkdirEnterable(dirname(real));
  const barrier = await firstBarrier(dirname(real), user);
  if (barrier === undefined) return real;

  const home = join(base, 'netlab-pg-data');
  await mkdirEnterable(home);
  if (!(await trustedDir(home))) throw new Error(`${home} is not a directory owned by root and writable only by it: remove it`);
  await chmod(home, 0o755); // made by an earlier run under a stricter umask, say
  const relocated = join(home, `${basename(real)}-${createHash('sha256').update(real).digest('hex').slice(0, 12)}`);
  await mkdir(dirname(asked), { recursive: true });
  const existing = await lstat(asked).catch(() => undefined);
  const emptyDir = existing?.isDirectory() && (await readdir(asked)).length === 0;
  if (existing && !emptyDir && !(existing.isSymbolicLink() && (await readlink(asked)) === relocated)) {
    // Data already there (or a link to it) stays where it is: moving a user's database is not ours to do.
    throw new Error(
      `the embedded PostgreSQL runs as user "postgres" (netlab runs as root), which cannot enter ${await describeBarrier(barrier)}, ` +
        `so it cannot use ${asked}: move it, pass --data-dir (DATA_DIR) under a directory that user can reach, or set DATABASE_URL`,
    );
  }
  if (emptyDir) await rmdir(asked);
  if (!existing?.isSymbolicLink()) await symlink(relocated, asked);
  logger.info({ dataDir: asked, relocated }, `user "postgres" cannot enter ${barrier}: the embedded PostgreSQL keeps its data in ${relocated} (${asked} links to it)`);
  return relocated;
}

/** mkdir -p, with every directory it creates mode 0755 whatever the umask (root's may be 077). */
async function mkdirEnterable(dir: string): Promise<void> {
  const first = await mkdir(dir, { recursive: true });
  if (first === undefined) return;
  for (let d = resolve(dir); ; d = dirname(d)) {
    await chmod(d, 0o755);
    if (d === resolve(first) || d === dirname(d)) break;
  }
}

async function realpathOrSelf(path: string): Promise<string> {
  try {
    return await realpath(path);
  } catch {
    const parent = dirname(path);
    return parent === path ? path : join(await realpathOrSelf(parent), basename(path));
  }
}

async function isDir(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}

/** A real directory (not a symlink) owned by root and writable by nobody else: nobody else can have changed it. */
async function trustedDir(path: string): Promise<boolean> {
  const st = await lstat(path).catch(() => undefined);
  return !!st && st.isDirectory() && st.uid === 0 && (st.mode & 0o022) === 0;
}

async function packageVersion(native: string): Promise<string> {
  try {
    return (JSON.parse(await readFile(join(native, '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

/**
 * A hash of the tree: the executables' bytes (a rebuilt binary gets a new copy), and every file's
 * path, size, mode and link target (hashing the 50 MB of libraries on every start would cost more
 * than it guards against).
 */
async function treeHash(native: string): Promise<string> {
  const hash = createHash('sha256');
  const walk = async (dir: string): Promise<void> => {
    for (const entry of (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = join(dir, entry.name);
      const st = await lstat(path);
      hash.update(`${relative(native, path)}\0${st.mode}\0${st.size}\0`);
      if (entry.isSymbolicLink()) hash.update(await readlink(path));
      else if (entry.isDirectory()) await walk(path);
      else if (relative(native, dir) === 'bin') hash.update(await readFile(path));
    }
  };
  for (const part of NATIVE_PARTS) await walk(join(native, part));
  return hash.digest('hex').slice(0, 16);
}
