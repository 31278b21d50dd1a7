import { connect } from 'node:net';
import { sleep } from '../../core/async.js';
import type { Logger } from '../../core/logger.js';
import type { IdleResult } from './bench-results.js';
import type { GeneratorPool } from './generator-pool.js';
import { buildMessage } from './message.js';
import { rssBytes } from './proc-sampler.js';
import { startTarget, type BenchTarget } from './target-server.js';

/** Pause before each RSS reading, so the server's allocations after a burst of accepts settle. */
export const IDLE_SETTLE_MS = 1000;
/** How long the one probe echo may take while the idle connections are held. */
export const PROBE_TIMEOUT_MS = 5000;

/** One echo on a fresh connection: true when the bytes came back intact in time. */
export function echoOnce(host: string, port: number, size = 64): Promise<boolean> {
  const message = buildMessage(size, 7);
  return new Promise((resolve) => {
    const socket = connect({ host, port, noDelay: true });
    const chunks: Buffer[] = [];
    let got = 0;
    const finish = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), PROBE_TIMEOUT_MS);
    socket.on('connect', () => socket.write(message));
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      got += chunk.length;
      if (got >= size) finish(Buffer.concat(chunks).equals(message));
    });
    socket.on('error', () => finish(false));
    socket.on('close', () => finish(false));
  });
}

/**
 * Holds `connections` idle connections (opened from every generator process) on a fresh server and
 * reports its RSS per connection, and whether it still answers a new client meanwhile.
 */
export async function runIdleTest(pool: GeneratorPool, target: BenchTarget, host: string, connections: number, logger: Logger): Promise<IdleResult> {
  const server = await startTarget(target, host);
  try {
    await sleep(IDLE_SETTLE_MS);
    const before = rssBytes(server.pid) ?? 0;
    const started = performance.now();
    const held = await pool.hold(host, server.port, connections);
    const openSeconds = (performance.now() - started) / 1000;
    logger.info({ opened: held.opened, errors: held.errors, openSeconds }, `holding ${held.opened} idle connections`);
    await sleep(IDLE_SETTLE_MS);
    const after = rssBytes(server.pid) ?? 0;
    const stillServing = await echoOnce(host, server.port);
    await pool.release();
    return {
      target: target.name,
      requested: connections,
      opened: held.opened,
      errors: held.errors,
      openSeconds,
      rssBeforeBytes: before,
      rssAfterBytes: after,
      rssPerConnectionBytes: held.opened > 0 ? Math.round((after - before) / held.opened) : 0,
      stillServing,
      generatorProcesses: pool.size,
    };
  } finally {
    await server.stop();
  }
}
