import { createServer, type Server, type Socket } from 'node:net';
import * as hdr from 'hdr-histogram-js';
import { afterEach, describe, expect, it } from 'vitest';
import { listen } from '../../../src/core/net.js';
import { defaultLoadSplit } from '../../../src/echo/bench/generator-pool.js';
import { ClosedLoopGenerator, openSockets } from '../../../src/echo/bench/load-generator.js';
import { startEchoListener } from '../../../src/echo/server/echo-listener.js';

const servers: Server[] = [];
const closers: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const c of closers.splice(0)) await c();
  for (const s of servers.splice(0)) {
    s.close();
  }
});

/** A TCP server with a custom (mis)behaviour per connection. */
function misbehaving(onConnection: (socket: Socket) => void): Promise<number> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => sockets.delete(s));
    onConnection(s);
  });
  servers.push(server);
  closers.push(async () => sockets.forEach((s) => s.destroy()));
  return listen(server, { host: '127.0.0.1', port: 0 });
}

async function runAgainst(port: number, size: number, connections = 4, requestTimeoutMs = 2000) {
  const gen = new ClosedLoopGenerator(requestTimeoutMs);
  const opened = await gen.open({ type: 'open', host: '127.0.0.1', port, size, connections, seed: 1, requestTimeoutMs });
  expect(opened.opened).toBe(connections);
  return gen.run(30, 150);
}

describe('closed-loop generator', () => {
  it('measures correct echoes: requests, latency histogram, no errors', async () => {
    const l = await startEchoListener({ host: '127.0.0.1', port: 0, idleTimeoutMs: 0, framed: true, maxConnections: 100 });
    closers.push(() => l.close(Date.now() + 500));
    const r = await runAgainst(l.port, 1000);
    expect(r.requests).toBeGreaterThan(0);
    expect(r.mismatches).toBe(0);
    expect(r.errors).toEqual({});
    const h = hdr.decodeFromCompressedBase64(r.histogram);
    expect(h.totalCount).toBe(r.requests);
    expect(h.getValueAtPercentile(50)).toBeGreaterThan(0);
    expect(r.connections).toBe(4);
    // The server saw at least every request the generator counted (warmup and drain included).
    expect(l.stats().requests).toBeGreaterThanOrEqual(r.requests);
  });

  it('catches a corrupted byte', async () => {
    const port = await misbehaving((s) => {
      let seen = 0;
      s.on('data', (c: Buffer) => {
        const copy = Buffer.from(c);
        if (seen <= 100 && seen + copy.length > 100) copy[100 - seen]! ^= 0xff;
        seen += copy.length;
        s.write(copy);
      });
    });
    const r = await runAgainst(port, 64);
    expect(r.mismatches).toBe(4);
  });

  it('catches a stale echo (the previous request replayed)', async () => {
    const port = await misbehaving((s) => {
      let first: Buffer | undefined;
      s.on('data', (c: Buffer) => {
        first ??= Buffer.from(c);
        s.write(first);
      });
    });
    const r = await runAgainst(port, 64);
    expect(r.mismatches).toBe(4);
  });

  it('catches a server that speaks before the first request', async () => {
    const port = await misbehaving((s) => {
      s.write('hello\n');
      s.on('data', (c: Buffer) => s.write(c));
    });
    const gen = new ClosedLoopGenerator(2000);
    await gen.open({ type: 'open', host: '127.0.0.1', port, size: 64, connections: 4, seed: 1, requestTimeoutMs: 2000 });
    await new Promise((r) => setTimeout(r, 100)); // the greeting arrives before the first request
    const r = await gen.run(30, 150);
    expect(r.mismatches).toBe(4);
    expect(r.requests).toBe(0);
  });

  it('counts a server that closes connections and one that never answers', async () => {
    const closing = await misbehaving((s) => s.once('data', (c: Buffer) => s.end(c)));
    const closed = await runAgainst(closing, 64);
    expect(closed.errors.closed_by_server).toBe(4);

    const silent = await misbehaving(() => {});
    const timedOut = await runAgainst(silent, 64, 3, 100);
    expect(timedOut.errors.timeout).toBe(3);
    expect(timedOut.requests).toBe(0);
  });

  it('reports refused connections instead of hanging', async () => {
    const port = await misbehaving(() => {});
    servers.pop()!.close();
    await new Promise((r) => setTimeout(r, 50));
    const r = await openSockets('127.0.0.1', port, 3);
    expect(r.opened).toBe(0);
    expect(r.errors.ECONNREFUSED).toBe(3);
  });
});

describe('default split of the machine between load and server', () => {
  it('gives half the cores to generators and the rest to server workers, at least one each', () => {
    expect(defaultLoadSplit(1)).toEqual({ generators: 1, workers: 1 });
    expect(defaultLoadSplit(2)).toEqual({ generators: 1, workers: 1 });
    expect(defaultLoadSplit(3)).toEqual({ generators: 1, workers: 2 });
    expect(defaultLoadSplit(8)).toEqual({ generators: 4, workers: 4 });
  });
});
