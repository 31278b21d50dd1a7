import type { Socket } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildMessage } from '../../../src/echo/bench/message.js';
import { DEFAULT_READ_PATH, type ReadPath } from '../../../src/echo/server/echo-connection.js';
import { startEchoListener, type EchoListener, type EchoListenerOptions } from '../../../src/echo/server/echo-listener.js';
import { connectTo, ECHO_SIZES, pattern, readBytes, SPLIT_PIECES, waitUntil, writeInPieces } from './echo-client.js';

const listeners: EchoListener[] = [];
const sockets: Socket[] = [];

let readPath: ReadPath = DEFAULT_READ_PATH;

async function listen(overrides: Partial<EchoListenerOptions> = {}): Promise<EchoListener> {
  const l = await startEchoListener({ host: '127.0.0.1', port: 0, idleTimeoutMs: 0, framed: false, maxConnections: 1000, readPath, ...overrides });
  listeners.push(l);
  return l;
}

async function client(port: number): Promise<Socket> {
  const s = await connectTo(port);
  sockets.push(s);
  return s;
}

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const l of listeners.splice(0)) await l.close(Date.now() + 1000);
});

it('reads into one shared buffer per thread on this Node (the fast path the benchmarks measure)', () => {
  // 'stream' here means Node no longer exposes what net.connect's onread option uses; the server
  // still works (every test below runs on both paths) but pays an allocation and an event per read.
  expect(DEFAULT_READ_PATH).toBe('shared-buffer');
});

describe.each(['shared-buffer', 'stream'] as const)('echo listener (the loop model, in process), %s reads', (path) => {
  beforeAll(() => {
    readPath = path;
  });
  afterAll(() => {
    readPath = DEFAULT_READ_PATH;
  });

  it('echoes every size from 1 byte to 1 MiB intact', async () => {
    const l = await listen();
    const s = await client(l.port);
    for (const size of ECHO_SIZES) {
      const payload = pattern(size, size);
      s.write(payload);
      const back = await readBytes(s, size);
      expect(back.length, `size ${size}`).toBe(size);
      expect(back.equals(payload), `size ${size}`).toBe(true);
    }
  });

  it('echoes split writes and several messages in one write as one ordered stream', async () => {
    const l = await listen();
    const s = await client(l.port);
    const payload = pattern(200_000, 7);
    const reading = readBytes(s, payload.length);
    await writeInPieces(s, payload, SPLIT_PIECES);
    expect((await reading).equals(payload)).toBe(true);

    const batch = Buffer.concat([buildMessage(64, 1), buildMessage(1, 2), buildMessage(5000, 3)]);
    s.write(batch);
    expect((await readBytes(s, batch.length)).equals(batch)).toBe(true);
  });

  it('stops reading from a peer that does not read, keeps serving others, and loses nothing', async () => {
    const l = await listen();
    const stuck = await client(l.port);
    stuck.pause(); // never reads until the end of the test
    const total = 64 * 1024 * 1024;
    const payload = pattern(total, 3);
    // Write until our own socket reports that the server is no longer taking bytes.
    let written = 0;
    while (written < total) {
      const piece = payload.subarray(written, written + 1024 * 1024);
      written += piece.length;
      if (!stuck.write(piece)) {
        const drained = await Promise.race([new Promise((r) => stuck.once('drain', () => r(true))), new Promise((r) => setTimeout(() => r(false), 500))]);
        if (!drained) break;
      }
    }
    expect(written, 'the server kept reading from a peer that never reads').toBeLessThan(total);
    const plateau = l.stats().bytesIn;
    await new Promise((r) => setTimeout(r, 300));
    const after = l.stats();
    expect(after.bytesIn).toBe(plateau);
    // What the server holds for this peer: kernel buffers on both sides plus one bounded queue.
    expect(after.bytesIn).toBeLessThan(32 * 1024 * 1024);
    expect(after.bufferedBytes).toBeLessThanOrEqual(256 * 1024);

    const other = await client(l.port);
    const hello = pattern(10_000, 9);
    other.write(hello);
    expect((await readBytes(other, hello.length)).equals(hello)).toBe(true);

    // Once the peer reads again every byte comes back, in order.
    const back = await readBytes(stuck, written, 30_000);
    expect(back.length).toBe(written);
    expect(back.equals(payload.subarray(0, written))).toBe(true);
  });

  it('finishes the echo to a half-closed peer, then closes its side', async () => {
    const l = await listen();
    const s = await client(l.port);
    const payload = pattern(300_000, 11);
    const reading = readBytes(s, payload.length + 1); // ends on 'close', as the server's FIN arrives
    s.end(payload);
    const back = await reading;
    expect(back.equals(payload)).toBe(true);
    await waitUntil(() => l.stats().open === 0);
  });

  it('closes idle, half-sent and non-reading connections after the idle timeout', async () => {
    const l = await listen({ idleTimeoutMs: 200 });
    const idle = await client(l.port);
    const halfSent = await client(l.port);
    halfSent.write(buildMessage(1000, 1).subarray(0, 10));
    const nonReading = await client(l.port);
    nonReading.pause();
    const big = pattern(16 * 1024 * 1024, 5);
    nonReading.write(big);
    for (const s of [idle, halfSent, nonReading]) s.on('error', () => {});
    await waitUntil(() => l.stats().open === 0, 10_000);
    expect(l.stats().idleTimeouts).toBe(3);
    expect(l.stats().bufferedBytes).toBe(0);
  });

  it('counts framed requests with --framed and survives a stream that is not framed', async () => {
    const l = await listen({ framed: true });
    const s = await client(l.port);
    const messages = Buffer.concat([buildMessage(64, 1), buildMessage(100_000, 2), buildMessage(4, 3)]);
    s.write(messages);
    await readBytes(s, messages.length);
    expect(l.stats().requests).toBe(3);

    const raw = await client(l.port);
    const junk = Buffer.from('GET / HTTP/1.1\r\n\r\n');
    raw.write(junk);
    expect((await readBytes(raw, junk.length)).equals(junk)).toBe(true);
    expect(l.stats().framingErrors).toBe(1);
  });

  it('closes connections beyond --max-connections at once and counts them', async () => {
    const l = await listen({ maxConnections: 2 });
    await client(l.port);
    await client(l.port);
    await waitUntil(() => l.stats().open === 2);
    const third = await client(l.port);
    third.on('error', () => {});
    await new Promise<void>((r) => (third.closed ? r() : third.once('close', () => r())));
    expect(l.stats().rejected).toBe(1);
  });

  it('half-closes open connections on close and destroys what is left at the deadline', async () => {
    const l = await listen();
    const polite = await client(l.port);
    polite.on('end', () => polite.end());
    const stubborn = await client(l.port);
    stubborn.pause();
    stubborn.write(pattern(16 * 1024 * 1024, 2));
    stubborn.on('error', () => {});
    await waitUntil(() => l.stats().open === 2);
    const started = Date.now();
    await l.close(Date.now() + 500);
    expect(Date.now() - started).toBeLessThan(3000);
    expect(l.stats().open).toBe(0);
    listeners.pop();
  });
});
