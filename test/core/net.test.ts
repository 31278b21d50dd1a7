import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { canWriteDirectly, writeToSocket } from '../../src/core/net.js';

const servers: Server[] = [];
const sockets: Socket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
  for (const s of servers.splice(0)) s.close();
});

/** A connected pair: `server` is the accepted side (the one written to), `client` the peer. */
async function pair(pauseOnConnect = false): Promise<{ server: Socket; client: Socket }> {
  let accepted!: (s: Socket) => void;
  const acceptedSocket = new Promise<Socket>((r) => (accepted = r));
  const srv = createServer({ pauseOnConnect }, (s) => accepted(s));
  servers.push(srv);
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const client = connect((srv.address() as { port: number }).port, '127.0.0.1');
  await new Promise((r) => client.once('connect', r));
  const server = await acceptedSocket;
  sockets.push(client, server);
  return { server, client };
}

describe('writeToSocket', () => {
  it.runIf(process.platform === 'linux')('reaches the descriptor of a TCP socket on Linux (the fast path is used)', async () => {
    const { server } = await pair();
    expect(canWriteDirectly(server)).toBe(true);
    writeToSocket(server, 'x\n');
    // Straight to the kernel: the stream saw nothing.
    expect(server.writableLength).toBe(0);
    expect(server.bytesWritten).toBe(0);
  });

  it('keeps every byte in order when the kernel buffer fills and writes have to queue', async () => {
    const { server, client } = await pair();
    client.pause(); // the peer does not read: the send buffer fills and later lines queue in the stream
    // Loopback buffers grow to megabytes: 30 MB of kilobyte lines are sure to fill them.
    const lines = 30_000;
    const pad = '.'.repeat(1000);
    const line = (i: number) => `[${i}] ${pad}`;
    let queuedAt = -1;
    for (let i = 0; i < lines; i++) {
      writeToSocket(server, i % 2 ? line(i) + '\n' : Buffer.from(line(i) + '\n'));
      if (queuedAt < 0 && server.writableLength > 0) queuedAt = i;
    }
    expect(queuedAt).toBeGreaterThan(0); // both paths were taken
    const chunks: Buffer[] = [];
    const ended = new Promise((r) => client.once('end', r));
    client.on('data', (c: Buffer) => chunks.push(c));
    client.resume();
    server.end();
    await ended;
    const got = Buffer.concat(chunks).toString('latin1').split('\n');
    expect(got.pop()).toBe('');
    expect(got).toHaveLength(lines);
    got.forEach((text, i) => {
      if (text !== line(i)) expect.fail(`line ${i} is ${JSON.stringify(text.slice(0, 40))}...`);
    });
  });

  it('does not throw when the peer is gone: the stream reports it', async () => {
    // Not reading: Node does not see the reset, so the socket still looks open and the write meets it.
    const { server, client } = await pair(true);
    const closed = new Promise((r) => server.once('close', r));
    let error: NodeJS.ErrnoException | undefined;
    server.on('error', (err) => (error = err));
    client.resetAndDestroy();
    await new Promise((r) => setTimeout(r, 50));
    expect(server.destroyed).toBe(false);
    expect(canWriteDirectly(server)).toBe(true);
    for (let i = 0; i < 10; i++) writeToSocket(server, 'after the reset\n');
    await closed;
    expect(server.destroyed).toBe(true);
    expect(error?.code).toMatch(/^(EPIPE|ECONNRESET)$/);
  });

  it('leaves an ended socket to the stream, which refuses the write', async () => {
    const { server, client } = await pair();
    client.resume();
    let error: NodeJS.ErrnoException | undefined;
    server.on('error', (err) => (error = err));
    server.end();
    writeToSocket(server, 'after end\n');
    await new Promise((r) => setTimeout(r, 20));
    expect(error?.code).toBe('ERR_STREAM_WRITE_AFTER_END');
  });
});

describe('listen, claimPort, freePort', () => {
  it('listen resolves with the port bound, with the one backlog', async () => {
    const { listen, LISTEN_BACKLOG } = await import('../../src/core/net.js');
    const srv = createServer();
    servers.push(srv);
    const port = await listen(srv, { host: '127.0.0.1', port: 0 });
    expect(port).toBe((srv.address() as { port: number }).port);
    expect(port).toBeGreaterThan(0);
    expect(LISTEN_BACKLOG).toBe(4096);
  });

  it('listen rejects with EADDRINUSE on a taken port, and claimPort does too', async () => {
    const { claimPort, freePort, listen } = await import('../../src/core/net.js');
    const taken = createServer();
    servers.push(taken);
    const port = await listen(taken, { host: '127.0.0.1', port: await freePort() });
    const other = createServer();
    servers.push(other);
    await expect(listen(other, { host: '127.0.0.1', port })).rejects.toMatchObject({ code: 'EADDRINUSE' });
    await expect(claimPort('127.0.0.1', port)).rejects.toMatchObject({ code: 'EADDRINUSE' });
    taken.close();
    await new Promise((r) => taken.once('close', r));
    expect(await claimPort('127.0.0.1', port)).toBe(port);
  });
});
