import { UnavailableError } from '../../core/errors.js';
import { claimPort, probeReusePort } from '../../core/net.js';
import type { RoleContext } from '../../core/role.js';
import type { EchoModel } from '../models.js';
import { createClusterPool } from './cluster-model.js';
import { startEchoListener } from './echo-listener.js';
import type { EchoStats } from './echo-stats.js';
import { registerEchoMetrics } from './server-metrics.js';
import { createThreadPool } from './thread-model.js';
import type { EchoWorkerConfig } from './worker-protocol.js';

export interface EchoServerOptions {
  model: EchoModel;
  host: string;
  port: number;
  workers: number;
  idleTimeoutMs: number;
  maxConnections: number;
  framed: boolean;
}

/**
 * Starts the echo server of the chosen model and serves until shutdown. Resolves undefined once
 * listening, or an exit code when the model cannot run on this Node.
 */
export async function startEchoServer(o: EchoServerOptions, { logger, lifecycle, registry }: RoleContext): Promise<number | undefined> {
  const base = { host: o.host, idleTimeoutMs: o.idleTimeoutMs, framed: o.framed, maxConnections: o.maxConnections };
  let read: () => EchoStats;
  let workers: () => number;
  let port: number;

  if (o.model === 'loop') {
    const listener = await startEchoListener({ ...base, port: o.port });
    lifecycle.onShutdown('echo listener', (deadline) => listener.close(deadline));
    ({ port } = listener);
    read = () => listener.stats();
    workers = () => 1;
  } else {
    if (o.model === 'threads') {
      const support = await probeReusePort();
      if (!support.supported) throw new UnavailableError(`--model threads is not available: ${support.reason}`);
    }
    // Workers must agree on one port, and a port in use must fail before any worker starts.
    const claimed = await claimPort(o.host, o.port);
    const config: Omit<EchoWorkerConfig, 'index'> = { ...base, model: o.model, port: claimed, reusePort: false };
    const pool = o.model === 'cluster' ? createClusterPool(config, o.workers, logger) : createThreadPool(config, o.workers, logger);
    // Registered before the start, so a SIGTERM while workers are still starting stops them too.
    lifecycle.onShutdown(`echo ${o.model} workers`, (deadline) => pool.shutdown(deadline));
    port = await pool.start();
    read = () => pool.stats();
    workers = () => pool.running();
  }
  registerEchoMetrics(registry, o.model, read, workers);
  logger.info(
    { model: o.model, host: o.host, port, workers: workers(), idleTimeoutMs: o.idleTimeoutMs, framed: o.framed },
    `echo server (${o.model}, ${workers()} ${workers() === 1 ? 'listener' : 'workers'}) listening on ${o.host}:${port}`,
  );
  return undefined;
}
