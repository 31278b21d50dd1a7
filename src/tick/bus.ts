/**
 * The message bus as the tick app sees it: publish bytes under a key, receive bytes for a key, and
 * hear about the connection (`onStatus`, subscribed to once the bus exists). Each broker lives
 * behind this in its own transport file; the URL scheme picks one. A bus connects and reconnects
 * by itself, forever, and `publish` never blocks: it hands the bytes to the client's buffer, or
 * returns false while disconnected (ticks are perishable: one held back through an outage would
 * only arrive stale).
 */

export const BusKind = { Nats: 'nats', Amqp: 'amqp' } as const;
export type BusKind = (typeof BusKind)[keyof typeof BusKind];

export const NATS_DEFAULT_PORT = 4222;
export const AMQP_DEFAULT_PORT = 5672;
export const AMQPS_DEFAULT_PORT = 5671;

/** First wait after a failed connect; doubles per attempt up to RECONNECT_MAX_MS. */
export const RECONNECT_MIN_MS = 100;
/** Longest wait between connect attempts: keeps recovery within a few seconds of the broker returning. */
export const RECONNECT_MAX_MS = 2000;
/** A connect attempt (TCP plus handshake) that takes longer than this is abandoned and retried. */
export const CONNECT_TIMEOUT_MS = 3000;

/** close() waits this long for the broker to acknowledge; a dead connection is just dropped. */
export const CLOSE_TIMEOUT_MS = 1000;

export type BusStatus =
  | { type: 'connected'; reconnect: boolean }
  | { type: 'disconnected'; reason: string }
  | { type: 'retrying'; attempt: number; delayMs: number; reason: string }
  /** A handler threw on one message: that message is dropped, the subscription goes on. */
  | { type: 'handler-failed'; key: string; reason: string }
  /** The broker ended a subscription while the connection stayed up; the bus starts it again. */
  | { type: 'subscription-lost'; key: string; reason: string };

export type BusStatusListener = (status: BusStatus) => void;

export interface BusOptions {
  /** Shows up in broker connection lists. */
  clientName: string;
}

export interface Bus {
  readonly kind: BusKind;
  /** The URL without its password, for logs. */
  readonly displayUrl: string;
  readonly connected: boolean;
  /** Connected, and every subscription is live (a message published now under its key would reach its handler). */
  readonly subscribed: boolean;
  /**
   * Registers a handler for messages published under `key`; kept across reconnects. Call before start.
   * A handler that throws loses that one message, never the subscription ('handler-failed').
   */
  subscribe(key: string, handler: (body: Uint8Array) => void): void;
  /**
   * Calls `listener` with every status from now on, in order, until the returned function is called.
   * Subscribe before start() to hear the first connection.
   */
  onStatus(listener: BusStatusListener): () => void;
  /** Starts connecting in the background; never rejects (failures are retried and reported). */
  start(): void;
  /** Hands `body` to the client; false when it could not (not connected, or the client refused). */
  publish(key: string, body: Uint8Array): boolean;
  /** Stops reconnecting and closes the connection, flushing what is buffered. */
  close(): Promise<void>;
}

export function busKindOf(url: string): BusKind {
  const protocol = new URL(url).protocol;
  if (protocol === 'nats:') return BusKind.Nats;
  if (protocol === 'amqp:' || protocol === 'amqps:') return BusKind.Amqp;
  throw new RangeError(`no bus for ${protocol}// URLs (use nats:// or amqp://)`);
}

/** Creates the bus for `url`'s scheme; the client library loads only for the bus in use. */
export async function createBus(url: string, options: BusOptions): Promise<Bus> {
  switch (busKindOf(url)) {
    case BusKind.Nats:
      return new (await import('./nats-bus.js')).NatsBus(url, options);
    case BusKind.Amqp:
      return new (await import('./amqp-bus.js')).AmqpBus(url, options);
  }
}

export function redactUrl(url: string): string {
  const u = new URL(url);
  if (u.password) u.password = '***';
  return u.toString().replace(/\/$/, '');
}

/** Wait before connect attempt `attempt` (1-based): exponential from RECONNECT_MIN_MS, capped. */
export function backoffMs(attempt: number): number {
  return Math.min(RECONNECT_MAX_MS, RECONNECT_MIN_MS * 2 ** Math.max(0, attempt - 1));
}

/** The status listeners of one bus: what both transports' onStatus and emit use. */
export class StatusListeners {
  private readonly listeners = new Set<BusStatusListener>();

  add(listener: BusStatusListener): () => void {
    // Wrapped, so the same function added twice is two subscriptions and each unsubscribe ends one.
    const entry: BusStatusListener = (status) => listener(status);
    this.listeners.add(entry);
    return () => void this.listeners.delete(entry);
  }

  emit(status: BusStatus): void {
    for (const listener of this.listeners) listener(status);
  }
}

/** Runs `handler` on one message; whatever it throws goes to `onError`, never up into the client's reader. */
export function dispatchSafely(handler: (body: Uint8Array) => void, body: Uint8Array, onError: (err: unknown) => void): void {
  try {
    handler(body);
  } catch (err) {
    try {
      onError(err);
    } catch {
      // A failing error report must not take the reader down either.
    }
  }
}

export const errorText = (err: unknown): string => {
  const e = err as { code?: string; message?: string };
  return [e?.code, e?.message].filter(Boolean).join(': ') || String(err);
};
