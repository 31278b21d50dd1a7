import { createServer, type Server } from 'node:net';

/** How the echo server spreads connections over CPU cores. */
export const ECHO_MODELS = ['loop', 'cluster', 'threads'] as const;
export type EchoModel = (typeof ECHO_MODELS)[number];

export const MODEL_DESCRIPTIONS: Record<EchoModel, string> = {
  loop: 'one Node event loop in one process',
  cluster: 'node:cluster: N worker processes, the primary hands them connections',
  threads: 'N worker_threads, each listening on the port with SO_REUSEPORT',
};

export const REUSE_PORT_REQUIREMENT = 'net.Server listen({reusePort}) (Node >= 22.12 or >= 23.1, on Linux)';

export interface ReusePortSupport {
  supported: boolean;
  reason?: string;
}

function listen(server: Server, port: number, reusePort: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port, reusePort }, () => {
      server.off('error', reject);
      resolve((server.address() as { port: number }).port);
    });
  });
}

/**
 * Asks the running Node, not its version number: two sockets try to listen on one port with
 * reusePort. A Node without the option ignores it and the second bind fails with EADDRINUSE.
 */
export async function probeReusePort(): Promise<ReusePortSupport> {
  const first = createServer();
  const second = createServer();
  try {
    const port = await listen(first, 0, true);
    await listen(second, port, true);
    return { supported: true };
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
    return {
      supported: false,
      reason: `Node ${process.version} on ${process.platform} cannot share a port between threads (${code}); the threads model needs ${REUSE_PORT_REQUIREMENT}`,
    };
  } finally {
    first.close();
    second.close();
  }
}
