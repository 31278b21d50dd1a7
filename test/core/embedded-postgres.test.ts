import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/core/net.js';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/core/embedded-postgres.js';
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
