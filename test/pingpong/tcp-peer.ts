import { connect, type Socket } from 'node:net';

/** A raw TCP client for tests: collects the lines it reads, and waits for one. */
export interface TcpPeer {
  socket: Socket;
  lines: string[];
  closed: Promise<void>;
  send(text: string): void;
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  close(): void;
}

export async function tcpPeer(port: number, { read = true } = {}): Promise<TcpPeer> {
  const socket = connect({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.on('error', () => {});
  const lines: string[] = [];
  let tail = '';
  const listeners = new Set<() => void>();
  if (read) {
    socket.on('data', (chunk: Buffer) => {
      const parts = (tail + chunk.toString('latin1')).split('\n');
      tail = parts.pop()!;
      lines.push(...parts.map((l) => l.replace(/\r$/, '')));
      for (const l of listeners) l();
    });
  } else socket.pause();
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  void closed.then(() => listeners.forEach((l) => l()));
  return {
    socket,
    lines,
    closed,
    send: (text) => void socket.write(text),
    waitForLine(pattern, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = lines.find((l) => pattern.test(l));
          if (found !== undefined) {
            done();
            resolve(found);
          } else if (socket.destroyed) {
            done();
            reject(new Error(`connection closed before a line matching ${pattern}; got ${JSON.stringify(lines.slice(-5))}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`no line matching ${pattern} within ${timeoutMs} ms; got ${JSON.stringify(lines.slice(-5))}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
    close: () => socket.destroy(),
  };
}

/** Reads one metric's value from a Prometheus text page: the series with `name` and all of `labels`. */
export async function metricValue(port: number, name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  const line = text
    .split('\n')
    .find((l) => (l.startsWith(name + '{') || l.startsWith(name + ' ')) && Object.entries(labels).every(([k, v]) => l.includes(`${k}="${v}"`)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
}
