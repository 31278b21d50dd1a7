/**
 * The small pieces of waiting every capability needs: a pause that an abort ends early, a wait with a time
 * limit, and a promise settled from outside. Listening on a port and finding a free one are in net.ts.
 */

/** Resolves after `ms`, or early (without throwing) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

/**
 * `promise`'s value, or undefined once `ms` have passed (or `signal` aborted), whichever comes first; a
 * rejection of `promise` passes through. For waits whose end is not worth an error: goodbyes a dead peer
 * never answers, drains that the grace period cuts short.
 */
export async function within<T>(promise: PromiseLike<T>, ms: number, signal?: AbortSignal): Promise<T | undefined> {
  const stop = new AbortController();
  try {
    return await Promise.race([promise, sleep(Math.max(0, ms), signal ? AbortSignal.any([signal, stop.signal]) : stop.signal).then(() => undefined)]);
  } finally {
    stop.abort(); // clears the timer
  }
}

/** A wait that ran out of time (`withTimeout`). */
export class TimeoutError extends Error {
  override name = 'TimeoutError';
}

/** `promise`'s value, or a TimeoutError with `message` once `ms` have passed. */
export async function withTimeout<T>(promise: PromiseLike<T>, ms: number, message = `timed out after ${ms} ms`): Promise<T> {
  const value = await within(Promise.resolve(promise).then((v) => ({ v })), ms);
  if (value === undefined) throw new TimeoutError(message);
  return value.v;
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(reason: unknown): void;
  /** Whether resolve or reject was called. */
  readonly settled: boolean;
}

/** A promise with its resolve and reject, to settle from a callback that runs later. */
export function deferred<T = void>(): Deferred<T> {
  let settled = false;
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return {
    promise,
    resolve(value) {
      settled = true;
      resolve(value);
    },
    reject(reason) {
      settled = true;
      reject(reason);
    },
    get settled() {
      return settled;
    },
  };
}
