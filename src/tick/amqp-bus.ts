/**
 * RabbitMQ as a tick bus: a non-durable topic exchange AMQP_EXCHANGE, and per app an exclusive,
 * auto-delete, server-named queue bound to the keys it listens to. Nothing is persistent: ticks are
 * perishable. When the connection or channel dies, or the broker cancels the consumer (its queue was
 * deleted), the whole topology is declared again on a new connection, retried with backoff forever.
 * A handler never throws into amqplib: there it would close the channel (541 INTERNAL_ERROR).
 */
import amqp, { type Channel, type ChannelModel } from 'amqplib';
import { sleep, within } from '../core/async.js';
import { backoffMs, BusKind, CLOSE_TIMEOUT_MS, CONNECT_TIMEOUT_MS, dispatchSafely, errorText, redactUrl, StatusListeners, type Bus, type BusOptions, type BusStatus, type BusStatusListener } from './bus.js';

export const AMQP_EXCHANGE = 'netlab.ticks';
/** AMQP heartbeat (seconds) unless the URL sets one: a dead peer is noticed in about twice this. */
export const AMQP_HEARTBEAT_S = 5;
/** A queue holds at most this many ticks for a consumer that stalls; older ones are dropped first. */
export const AMQP_MAX_QUEUED_TICKS = 10_000;

/** The URL with a heartbeat set, unless it has its own. */
export function amqpConnectUrl(url: string): string {
  const u = new URL(url);
  if (!u.searchParams.has('heartbeat')) u.searchParams.set('heartbeat', String(AMQP_HEARTBEAT_S));
  return u.toString();
}

interface Session {
  connection: ChannelModel;
  channel: Channel;
  /** The server-named queue of this session. */
  queue: string;
  /** Settles, with the reason, when the connection or channel is gone. */
  lost: Promise<string>;
}

export class AmqpBus implements Bus {
  readonly kind = BusKind.Amqp;
  readonly displayUrl: string;
  private session: Session | undefined;
  private readonly handlers = new Map<string, (body: Uint8Array) => void>();
  private readonly stopping = new AbortController();
  private readonly statusListeners = new StatusListeners();
  private running: Promise<void> | undefined;
  private everConnected = false;

  constructor(
    private readonly url: string,
    private readonly options: BusOptions,
  ) {
    this.displayUrl = redactUrl(url);
  }

  get connected(): boolean {
    return this.session !== undefined;
  }

  /** The consumer lives as long as its session: a cancelled one ends the session. */
  get subscribed(): boolean {
    return this.session !== undefined;
  }

  subscribe(key: string, handler: (body: Uint8Array) => void): void {
    this.handlers.set(key, handler);
  }

  onStatus(listener: BusStatusListener): () => void {
    return this.statusListeners.add(listener);
  }

  start(): void {
    this.running ??= this.connectForever();
  }

  publish(key: string, body: Uint8Array): boolean {
    const channel = this.session?.channel;
    if (!channel) return false;
    try {
      // A false return means the socket buffer is full; the message is still queued in the client.
      channel.publish(AMQP_EXCHANGE, key, Buffer.from(body.buffer, body.byteOffset, body.byteLength), { contentType: 'application/json', persistent: false });
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    this.stopping.abort();
    const session = this.session;
    this.session = undefined;
    if (session) await within(session.connection.close().catch(() => undefined), CLOSE_TIMEOUT_MS);
    await this.running;
  }

  private emit(status: BusStatus): void {
    this.statusListeners.emit(status);
  }

  /** Connects, waits for the connection to die, and starts over; until close(). */
  private async connectForever(): Promise<void> {
    let attempt = 0;
    while (!this.stopping.signal.aborted) {
      let session: Session;
      try {
        session = await this.openWithin(CONNECT_TIMEOUT_MS);
      } catch (err) {
        if (this.stopping.signal.aborted) return;
        attempt++;
        const delayMs = backoffMs(attempt);
        this.emit({ type: 'retrying', attempt, delayMs, reason: errorText(err) });
        await sleep(delayMs, this.stopping.signal);
        continue;
      }
      attempt = 0;
      this.session = session;
      this.emit({ type: 'connected', reconnect: this.everConnected });
      this.everConnected = true;
      const reason = await session.lost;
      this.session = undefined;
      if (this.stopping.signal.aborted) return;
      this.emit({ type: 'disconnected', reason });
    }
  }

  /**
   * open(), given up after `ms` or on close(): a socket that closes during the handshake (a broker
   * going down just then) can leave amqplib's connect pending forever. A session that opens after
   * it was given up is closed.
   */
  private openWithin(ms: number): Promise<Session> {
    const attempt = this.open();
    return new Promise<Session>((resolve, reject) => {
      let settled = false;
      const settle = (fn: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.stopping.signal.removeEventListener('abort', onAbort);
        fn();
      };
      const giveUp = (why: string) =>
        settle(() => {
          attempt.then((late) => late.connection.close().catch(() => undefined), () => undefined);
          reject(new Error(why));
        });
      const onAbort = () => giveUp('closing');
      const timer = setTimeout(() => giveUp(`no connection within ${ms} ms`), ms);
      this.stopping.signal.addEventListener('abort', onAbort, { once: true });
      attempt.then(
        (session) => settle(() => resolve(session)),
        (err: unknown) => settle(() => reject(err)),
      );
    });
  }

  /** One connection with its channel and topology. */
  private async open(): Promise<Session> {
    const connection = await amqp.connect(amqpConnectUrl(this.url), {
      timeout: CONNECT_TIMEOUT_MS,
      noDelay: true,
      clientProperties: { connection_name: this.options.clientName },
    });
    let resolveLost!: (reason: string) => void;
    const lost = new Promise<string>((resolve) => (resolveLost = resolve));
    // close() ends the session too, even if the dead socket never reports its own end.
    const onStop = () => resolveLost('closing');
    this.stopping.signal.addEventListener('abort', onStop, { once: true });
    void lost.then(() => this.stopping.signal.removeEventListener('abort', onStop));
    // 'error' comes before 'close' when the broker closes with an error; either ends this session.
    connection.on('error', (err: Error) => resolveLost(errorText(err)));
    connection.on('close', (err?: Error) => resolveLost(err ? errorText(err) : 'connection closed'));
    try {
      const channel = await connection.createChannel();
      channel.on('error', (err: Error) => resolveLost(`channel: ${errorText(err)}`));
      // A channel closed by the broker (e.g. a topology error) leaves the connection up: drop it too.
      channel.on('close', () => {
        resolveLost('channel closed');
        connection.close().catch(() => undefined);
      });
      await channel.assertExchange(AMQP_EXCHANGE, 'topic', { durable: false, autoDelete: false });
      const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true, durable: false, maxLength: AMQP_MAX_QUEUED_TICKS });
      for (const key of this.handlers.keys()) await channel.bindQueue(queue, AMQP_EXCHANGE, key);
      // One consumer per queue (several would take turns on the messages); dispatch by routing key.
      await channel.consume(queue, (msg) => {
        if (msg === null) {
          // The broker cancelled the consumer (queue deleted): nothing would arrive any more.
          for (const key of this.handlers.keys()) this.emit({ type: 'subscription-lost', key, reason: 'consumer cancelled by the broker' });
          resolveLost('consumer cancelled by the broker');
          connection.close().catch(() => undefined);
          return;
        }
        const key = msg.fields.routingKey;
        const handler = this.handlers.get(key);
        if (handler) dispatchSafely(handler, msg.content, (err) => this.emit({ type: 'handler-failed', key, reason: errorText(err) }));
      }, { noAck: true });
      return { connection, channel, queue, lost };
    } catch (err) {
      await connection.close().catch(() => undefined);
      throw err;
    }
  }
}
