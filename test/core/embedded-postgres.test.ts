import { chmod, lstat, mkdir, mkdtemp, readlink, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postmasterPid, startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/core/embedded-postgres.js';
import { freePort } from '../../src/core/net.js';
import { silentLogger } from '../helpers/logger.js';

let dir: string;
let port: number;
let running: EmbeddedPostgres;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'netlab-embedded-'));
  await chmod(dir, 0o755); // the server runs as user postgres when tests run as root
  port = await freePort();
  running = await startEmbeddedPostgres({ dataDir: join(dir, 'pg'), port, logger: silentLogger });
});
afterAll(async () => {
  await running?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('embedded PostgreSQL', () => {
  it('joins the server already running in its data directory on the same port', async () => {
    const again = await startEmbeddedPostgres({ dataDir: join(dir, 'pg'), port, logger: silentLogger });
    expect(again.owned).toBe(false);
    expect(again.url).toBe(running.url);
  });

  it('names the port of a server already running in its data directory on another one', async () => {
    const other = await freePort();
    const started = Date.now();
    await expect(startEmbeddedPostgres({ dataDir: join(dir, 'pg'), port: other, logger: silentLogger })).rejects.toThrow(
      `already runs in ${join(dir, 'pg')} on port ${port}, not ${other}: stop it, or use --embedded-port ${port}`,
    );
    // At once, not after the start timeout.
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});

const isRoot = userInfo().uid === 0;
if (!isRoot) console.warn('embedded PostgreSQL under a 0700 directory: skipped, the test needs root (then PostgreSQL runs as user postgres)');

describe.skipIf(!isRoot)('embedded PostgreSQL as root, asked for a data directory under a 0700 directory', () => {
  it('starts, answers SQL, and keeps its data where user postgres can reach it, linked from where it was asked for', async () => {
    const home = await mkdtemp(join(tmpdir(), 'netlab-home-')); // 0700, like /root
    const shared = await mkdtemp(join(tmpdir(), 'netlab-shared-'));
    await chmod(shared, 0o755);
    const savedTmp = process.env.TMPDIR;
    process.env.TMPDIR = shared; // where the relocated data goes, so that this test can remove it
    let server: EmbeddedPostgres | undefined;
    try {
      const asked = join(home, '.netlab', 'pg');
      await mkdir(join(home, '.netlab'));
      server = await startEmbeddedPostgres({ dataDir: asked, port: await freePort(), logger: silentLogger });
      expect(server.owned).toBe(true);
      expect(server.dataDir.startsWith(join(shared, 'netlab-pg-data'))).toBe(true);
      expect((await lstat(asked)).isSymbolicLink()).toBe(true);
      expect(await readlink(asked)).toBe(server.dataDir);
      const client = new pg.Client({ connectionString: server.url });
      await client.connect();
      try {
        expect((await client.query('SELECT current_database() AS db')).rows[0].db).toBe('netlab');
      } finally {
        await client.end();
      }
      expect(await postmasterPid(asked)).toBe(server.pid);
    } finally {
      await server?.stop();
      if (savedTmp === undefined) delete process.env.TMPDIR;
      else process.env.TMPDIR = savedTmp;
      await rm(home, { recursive: true, force: true });
      await rm(shared, { recursive: true, force: true });
    }
  });
});
