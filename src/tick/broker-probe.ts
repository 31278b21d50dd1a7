/** Is a broker listening at a URL? A TCP connect with a short timeout, and what to do when not. */
import { connect } from 'node:net';
import { AMQP_DEFAULT_PORT, AMQPS_DEFAULT_PORT, busKindOf, BusKind, NATS_DEFAULT_PORT, redactUrl } from './bus.js';

/** How long a probe waits for the TCP handshake; local brokers answer in well under a millisecond. */
export const PROBE_TIMEOUT_MS = 1500;

export function brokerAddress(url: string): { host: string; port: number } {
  const u = new URL(url);
  const host = u.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1';
  const fallback = busKindOf(url) === BusKind.Nats ? NATS_DEFAULT_PORT : u.protocol === 'amqps:' ? AMQPS_DEFAULT_PORT : AMQP_DEFAULT_PORT;
  return { host, port: u.port ? Number(u.port) : fallback };
}

/** Resolves undefined when something accepts TCP connections at the URL, else the reason it did not. */
export function probeBroker(url: string, timeoutMs = PROBE_TIMEOUT_MS): Promise<string | undefined> {
  const { host, port } = brokerAddress(url);
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (problem: string | undefined) => {
      socket.destroy();
      resolve(problem);
    };
    socket.setTimeout(timeoutMs, () => done(`no answer within ${timeoutMs} ms`));
    socket.once('connect', () => done(undefined));
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
  });
}

/** One line on how to get a broker at `url` running, naming the env var that points netlab at it. */
export function brokerStartHint(url: string): string {
  const { port } = brokerAddress(url);
  return busKindOf(url) === BusKind.Nats
    ? `start one with \`docker run -d --rm -p ${port}:4222 nats:latest\` (or \`nats-server -p ${port}\`), or set NATS_URL to yours`
    : `start one with \`docker run -d --rm -p ${port}:5672 rabbitmq:4-alpine\` (or \`rabbitmq-server\`), or set AMQP_URL to yours`;
}

/** The line printed when a broker does not answer: what was tried and how to fix it. */
export function noBrokerMessage(url: string, problem: string): string {
  return `no broker at ${redactUrl(url)} (${problem}); ${brokerStartHint(url)}`;
}
