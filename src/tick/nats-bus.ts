/**
 * Core NATS pub/sub as a tick bus (no JetStream: ticks are perishable). Keys become subjects under
 * NATS_SUBJECT_PREFIX. The first connection is retried here, with backoff, until it succeeds;
 * after that the client's own reconnect logic runs with unlimited attempts and the same backoff,
 * and re-subscribes by itself.
 */
import { connect, type ConnectionOptions, type NatsConnection } from '@nats-io/transport-node';
import { sleep } from '../core/lifecycle.js';
import { backoffMs, BusKind, CLOSE_TIMEOUT_MS, CONNECT_TIMEOUT_MS, errorText, within, NATS_DEFAULT_PORT, redactUrl, type Bus, type BusOptions, type BusStatus } from './bus.js';

export const NATS_SUBJECT_PREFIX = 'netlab.ticks';
/** Client pings this often so a silently dead connection (no FIN) is noticed... */
export const NATS_PING_INTERVAL_MS = 5000;
/** ...after this many unanswered pings. */
export const NATS_MAX_PINGS_OUT = 2;

/** Connection options from a nats:// URL: host:port as the server, user:pass or a token from its userinfo. */
export function natsConnectionOptions(url: string): ConnectionOptions {
  const u = new URL(url);
  const options: ConnectionOptions = { servers: `${u.hostname}:${u.port || NATS_DEFAULT_PORT}` };
  if (u.username && u.password) {
    options.user = decodeURIComponent(u.username);
    options.pass = decodeURIComponent(u.password);
  } else if (u.username) options.token = decodeURIComponent(u.username);
  return options;
}

export class NatsBus implements Bus {
  readonly kind = BusKind.Nats;
  readonly displayUrl: string;
  private nc: NatsConnection | undefined;
  private readonly handlers = new Map<string, (body: Uint8Array) => void>();
  private readonly stopping = new AbortController();
  private isConnected = false;
  private reconnectAttempt = 0;
  private connecting: Promise<void> | undefined;

  constructor(
    private readonly url: string,
    private readonly options: BusOptions,
  ) {
    this.displayUrl = redactUrl(url);
  }

  get connected(): boolean {
    return this.isConnected;
  }

  subscribe(key: string, handler: (body: Uint8Array) => void): void {
    this.handlers.set(`${NATS_SUBJECT_PREFIX}.${key}`, handler);
  }

  start(): void {
    this.connecting ??= this.connectUntilUp();
  }

  publish(key: string, body: Uint8Array): boolean {
    if (!this.isConnected || !this.nc) return false;
    try {
      this.nc.publish(`${NATS_SUBJECT_PREFIX}.${key}`, body);
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    this.stopping.abort();
    await this.connecting;
    const nc = this.nc;
    this.nc = undefined;
    this.isConnected = false;
    if (nc && !nc.isClosed()) await within(nc.close().catch(() => undefined), CLOSE_TIMEOUT_MS);
  }

  private emit(status: BusStatus): void {
    this.options.onStatus?.(status);
  }

  private async connectUntilUp(): Promise<void> {
    for (let attempt = 1; !this.stopping.signal.aborted; attempt++) {
      try {
        const nc = await connect({
          ...natsConnectionOptions(this.url),
          name: this.options.clientName,
          timeout: CONNECT_TIMEOUT_MS,
          maxReconnectAttempts: -1,
          reconnectJitter: 0,
          // Called before each reconnect attempt; reset when a reconnect succeeds.
          reconnectDelayHandler: () => backoffMs(++this.reconnectAttempt),
          // Stay on the URL given (a proxy, a tunnel): never hop to addresses the server gossips.
          ignoreClusterUpdates: true,
          pingInterval: NATS_PING_INTERVAL_MS,
          maxPingOut: NATS_MAX_PINGS_OUT,
        });
        if (this.stopping.signal.aborted) {
          await nc.close();
          return;
        }
        for (const [subject, handler] of this.handlers) {
          nc.subscribe(subject, { callback: (err, msg) => (err ? undefined : handler(msg.data)) });
        }
        // A round trip, so the server has the subscriptions before we report "connected".
        await nc.flush();
        this.nc = nc;
        this.isConnected = true;
        void this.watch(nc);
        this.emit({ type: 'connected', reconnect: false });
        return;
      } catch (err) {
        const delayMs = backoffMs(attempt);
        this.emit({ type: 'retrying', attempt, delayMs, reason: errorText(err) });
        await sleep(delayMs, this.stopping.signal);
      }
    }
  }

  private async watch(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (status.type === 'disconnect') {
        this.isConnected = false;
        this.emit({ type: 'disconnected', reason: `lost connection to ${status.server}` });
      } else if (status.type === 'reconnecting') {
        this.emit({ type: 'retrying', attempt: this.reconnectAttempt, delayMs: backoffMs(this.reconnectAttempt), reason: 'reconnecting' });
      } else if (status.type === 'reconnect') {
        this.reconnectAttempt = 0;
        this.isConnected = true;
        this.emit({ type: 'connected', reconnect: true });
      } else if (status.type === 'close') {
        this.isConnected = false;
      }
    }
  }
}
