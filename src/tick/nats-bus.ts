/**
 * Core NATS pub/sub as a tick bus (no JetStream: ticks are perishable). Keys become subjects under
 * NATS_SUBJECT_PREFIX. The first connection is retried here, with backoff, until it succeeds;
 * after that the client's own reconnect logic runs with unlimited attempts and the same backoff,
 * and re-subscribes by itself. Two ways the client can still go quiet are covered here: a
 * subscription the server ends (it is subscribed again, with backoff) and a connection the client
 * closes for good (we connect again from scratch). A handler never throws into the client's reader:
 * an exception there would end the reader and leave a connection that looks up but delivers nothing.
 */
import { connect, type ConnectionOptions, type NatsConnection, type Subscription } from '@nats-io/transport-node';
import { sleep, within } from '../core/async.js';
import { backoffMs, BusKind, CLOSE_TIMEOUT_MS, CONNECT_TIMEOUT_MS, dispatchSafely, errorText, NATS_DEFAULT_PORT, redactUrl, StatusListeners, type Bus, type BusOptions, type BusStatus, type BusStatusListener } from './bus.js';

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
  /** By key (the subject is NATS_SUBJECT_PREFIX.key). */
  private readonly handlers = new Map<string, (body: Uint8Array) => void>();
  private readonly subs = new Map<string, Subscription>();
  /** Subscriptions ended in a row per key, for the backoff before subscribing again. */
  private readonly resubscribeAttempts = new Map<string, number>();
  private readonly stopping = new AbortController();
  private readonly statusListeners = new StatusListeners();
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

  get subscribed(): boolean {
    if (!this.isConnected) return false;
    for (const key of this.handlers.keys()) {
      const sub = this.subs.get(key);
      if (!sub || sub.isClosed()) return false;
    }
    return true;
  }

  subscribe(key: string, handler: (body: Uint8Array) => void): void {
    this.handlers.set(key, handler);
  }

  onStatus(listener: BusStatusListener): () => void {
    return this.statusListeners.add(listener);
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
    this.statusListeners.emit(status);
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
        for (const key of this.handlers.keys()) this.subscribeOne(nc, key);
        // A round trip, so the server has the subscriptions before we report "connected".
        await nc.flush();
        this.nc = nc;
        this.isConnected = true;
        void this.watch(nc);
        void nc.closed().then((err) => this.onClosed(nc, err));
        this.emit({ type: 'connected', reconnect: false });
        return;
      } catch (err) {
        const delayMs = backoffMs(attempt);
        this.emit({ type: 'retrying', attempt, delayMs, reason: errorText(err) });
        await sleep(delayMs, this.stopping.signal);
      }
    }
  }

  private subscribeOne(nc: NatsConnection, key: string): void {
    const handler = this.handlers.get(key)!;
    const onError = (err: unknown) => this.emit({ type: 'handler-failed', key, reason: errorText(err) });
    const sub = nc.subscribe(`${NATS_SUBJECT_PREFIX}.${key}`, {
      callback: (err, msg) => {
        if (err) return; // the subscription ends with it; onSubscriptionEnded takes over
        this.resubscribeAttempts.delete(key);
        dispatchSafely(handler, msg.data, onError);
      },
    });
    this.subs.set(key, sub);
    void sub.closed.then((err) => this.onSubscriptionEnded(nc, key, sub, err));
  }

  /** The server (or the client) ended one subscription: unless the connection is going too, subscribe again. */
  private async onSubscriptionEnded(nc: NatsConnection, key: string, sub: Subscription, err: void | Error): Promise<void> {
    if (this.stopping.signal.aborted || nc.isClosed() || this.nc !== nc || this.subs.get(key) !== sub) return;
    const attempt = (this.resubscribeAttempts.get(key) ?? 0) + 1;
    this.resubscribeAttempts.set(key, attempt);
    this.emit({ type: 'subscription-lost', key, reason: err ? errorText(err) : 'subscription closed' });
    await sleep(backoffMs(attempt), this.stopping.signal);
    if (this.stopping.signal.aborted || nc.isClosed() || this.nc !== nc) return;
    try {
      this.subscribeOne(nc, key);
    } catch (e) {
      // Only a closed or draining connection refuses; onClosed starts over then.
      this.emit({ type: 'subscription-lost', key, reason: `could not subscribe again: ${errorText(e)}` });
    }
  }

  /** The client gave the connection up for good (not an outage it reconnects from): connect from scratch. */
  private onClosed(nc: NatsConnection, err: void | Error): void {
    if (this.stopping.signal.aborted || this.nc !== nc) return;
    const wasConnected = this.isConnected;
    this.nc = undefined;
    this.isConnected = false;
    this.subs.clear();
    if (wasConnected) this.emit({ type: 'disconnected', reason: `connection closed${err ? `: ${errorText(err)}` : ''}` });
    this.connecting = this.connectUntilUp();
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
