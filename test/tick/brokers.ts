/**
 * Test helpers for the tick capability: which real brokers answer, and a TCP proxy the test owns,
 * so a broker outage is simulated between app and broker without touching the shared broker.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { noBrokerMessage, probeBroker } from '../../src/tick/broker-probe.js';

export const NATS_URL = process.env.NATS_URL || 'nats://127.0.0.1:4222';
export const AMQP_URL = process.env.AMQP_URL || 'amqp://guest:guest@127.0.0.1:5672';
export const REQUIRE_BROKERS = process.env.NETLAB_REQUIRE_BROKERS === '1';

export interface BrokerGate {
  kind: 'nats' | 'amqp';
  url: string;
  /** The broker answered a TCP connect. */
  available: boolean;
  /** Run the tests: the broker answered, or NETLAB_REQUIRE_BROKERS=1 wants them to fail loudly. */
  run: boolean;
  /** Throws (for a beforeAll) when the broker is required but absent. */
  assertAvailable(): void;
}

async function gate(kind: 'nats' | 'amqp', url: string, envName: string): Promise<BrokerGate> {
  const problem = await probeBroker(url);
  const available = problem === undefined;
  if (!available && !REQUIRE_BROKERS) {
    // The message names the URL tried and ends with "or set NATS_URL / AMQP_URL to yours".
    console.log(`[tick tests] skipping ${kind} tests: ${noBrokerMessage(url, problem)}`);
  }
  return {
    kind,
    url,
    available,
    run: available || REQUIRE_BROKERS,
    assertAvailable() {
      if (!available) throw new Error(`NETLAB_REQUIRE_BROKERS=1 but ${noBrokerMessage(url, problem!)}; set ${envName}`);
    },
  };
}

/** Both brokers, probed once per test file. */
export async function brokerGates(): Promise<BrokerGate[]> {
  return Promise.all([gate('nats', NATS_URL, 'NATS_URL'), gate('amqp', AMQP_URL, 'AMQP_URL')]);
}

export interface TcpProxy {
  port: number;
  /** `url` with its host:port replaced by the proxy's. */
  rewrite(url: string): string;
  /** Drops every open connection and refuses (accepts and closes) new ones, like a dead broker. */
  cut(): void;
  restore(): void;
  /** Connections currently piped through. */
  readonly open: number;
  close(): Promise<void>;
}

/** A TCP proxy on 127.0.0.1 to `target` (host:port taken from a broker URL), on `port` or a free one. */
export async function startTcpProxy(targetUrl: string, port = 0): Promise<TcpProxy> {
  const target = new URL(targetUrl);
  const targetHost = target.hostname;
  const targetPort = Number(target.port);
  const pairs = new Set<[Socket, Socket]>();
  let cut = false;
  const server: Server = createServer((client) => {
    if (cut) {
      client.destroy();
      return;
    }
    const upstream = connect({ host: targetHost, port: targetPort });
    const pair: [Socket, Socket] = [client, upstream];
    pairs.add(pair);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      pairs.delete(pair);
    };
    client.on('error', drop).on('close', drop);
    upstream.on('error', drop).on('close', drop);
    client.setNoDelay(true);
    upstream.setNoDelay(true);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const actualPort = (server.address() as { port: number }).port;
  const cutAll = () => {
    cut = true;
    for (const [a, b] of pairs) {
      a.destroy();
      b.destroy();
    }
    pairs.clear();
  };
  return {
    port: actualPort,
    rewrite(url) {
      const u = new URL(url);
      u.hostname = '127.0.0.1';
      u.port = String(actualPort);
      return u.toString().replace(/\/$/, '');
    },
    cut: cutAll,
    restore() {
      cut = false;
    },
    get open() {
      return pairs.size;
    },
    close() {
      cutAll();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Polls `condition` every 25 ms until it holds; throws with `what` after `timeoutMs`. */
export async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export const randomChannel = (prefix: string): string => `${prefix}-${Math.random().toString(36).slice(2, 10)}`;
