/** How the echo server spreads connections over CPU cores. */
export const ECHO_MODELS = ['loop', 'cluster', 'threads'] as const;
export type EchoModel = (typeof ECHO_MODELS)[number];

export const MODEL_DESCRIPTIONS: Record<EchoModel, string> = {
  loop: 'one Node event loop in one process',
  cluster: 'node:cluster: N worker processes, the primary hands them connections',
  threads: 'N worker_threads, each listening on the port with SO_REUSEPORT',
};
