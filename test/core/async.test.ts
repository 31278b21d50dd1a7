import { describe, expect, it } from 'vitest';
import { deferred, sleep, TimeoutError, within, withTimeout } from '../../src/core/async.js';

const never = new Promise<never>(() => {});

describe('sleep', () => {
  it('resolves after the time', async () => {
    const t0 = performance.now();
    await sleep(30);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(29);
  });

  it('resolves at once, without throwing, when the signal aborts', async () => {
    const controller = new AbortController();
    const slept = sleep(60_000, controller.signal);
    controller.abort();
    await expect(slept).resolves.toBeUndefined();
    await expect(sleep(60_000, AbortSignal.abort())).resolves.toBeUndefined();
  });
});

describe('within', () => {
  it("gives the promise's value when it settles in time", async () => {
    expect(await within(Promise.resolve(7), 60_000)).toBe(7);
  });

  it('gives undefined for a promise that never settles', async () => {
    expect(await within(never, 20)).toBeUndefined();
    expect(await within(never, -5)).toBeUndefined();
  });

  it('gives undefined as soon as the signal aborts', async () => {
    const controller = new AbortController();
    const waiting = within(never, 60_000, controller.signal);
    controller.abort();
    expect(await waiting).toBeUndefined();
  });

  it('passes a rejection through', async () => {
    await expect(within(Promise.reject(new Error('boom')), 60_000)).rejects.toThrow('boom');
  });
});

describe('withTimeout', () => {
  it("gives the value in time, and a TimeoutError with the message when it runs out", async () => {
    expect(await withTimeout(Promise.resolve('ok'), 60_000)).toBe('ok');
    const err = await withTimeout(never, 20, 'timeout').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect((err as Error).message).toBe('timeout');
  });

  it('passes a rejection through', async () => {
    await expect(withTimeout(Promise.reject(new Error('boom')), 60_000)).rejects.toThrow('boom');
  });
});

describe('deferred', () => {
  it('is settled from outside, once', async () => {
    const d = deferred<number>();
    expect(d.settled).toBe(false);
    d.resolve(3);
    d.resolve(4);
    expect(d.settled).toBe(true);
    expect(await d.promise).toBe(3);
    const r = deferred();
    r.reject(new Error('no'));
    await expect(r.promise).rejects.toThrow('no');
  });
});
