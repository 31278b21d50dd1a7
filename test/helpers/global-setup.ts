import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/core/embedded-postgres.js';
import { freePort } from '../../src/core/net.js';
import { silentLogger } from './logger.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A PostgreSQL URL whose user may CREATE DATABASE: DATABASE_URL, or an embedded server for the run. */
    adminDatabaseUrl: string;
  }
}

let embedded: EmbeddedPostgres | undefined;
let dir: string | undefined;

export async function setup(project: TestProject): Promise<void> {
  let url = process.env.DATABASE_URL;
  if (!url) {
    dir = await mkdtemp(join(tmpdir(), 'netlab-test-pg-'));
    await chmod(dir, 0o755); // the server runs as user postgres when tests run as root
    const port = await freePort(); // one the kernel just handed out and took back: no socket holds it
    embedded = await startEmbeddedPostgres({ dataDir: join(dir, 'pg'), port, logger: silentLogger });
    url = embedded.url;
  }
  project.provide('adminDatabaseUrl', url);
}

export async function teardown(): Promise<void> {
  await embedded?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
}
