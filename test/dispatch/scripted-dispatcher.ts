import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { formatMessageEvent, formatSseEvent, type WorkMessage } from '../../src/dispatch/protocol.js';

export interface ScriptedStream {
  client: string;
  batchsize: number;
  res: ServerResponse;
  send(messages: WorkMessage[]): void;
  end(): void;
}

/**
 * A dispatcher whose every move the test makes: it accepts /task streams (hello only) and records
 * /report bodies, so the worker's rules can be driven message by message.
 */
export class ScriptedDispatcher {
  readonly streams: ScriptedStream[] = [];
  readonly reports: { client: string; ids: string[] }[] = [];
  private server!: Server;
  private waiters = new Set<() => void>();
  private n = 0;

  static async start(): Promise<ScriptedDispatcher> {
    const d = new ScriptedDispatcher();
    d.server = createServer((req, res) => d.handle(req, res));
    await new Promise<void>((r) => d.server.listen(0, '127.0.0.1', () => r()));
    return d;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'GET' && url.pathname === '/task') {
      const client = `client-${++this.n}`;
      const batchsize = Number(url.searchParams.get('batchsize'));
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
      res.write(formatSseEvent('hello', JSON.stringify({ client, batchsize })));
      this.streams.push({
        client,
        batchsize,
        res,
        send: (messages) => res.write(messages.map(formatMessageEvent).join('')),
        end: () => res.destroy(),
      });
      this.notify();
      return;
    }
    if (req.method === 'POST' && url.pathname === '/report') {
      let body = '';
      req.setEncoding('utf8').on('data', (c: string) => (body += c));
      req.on('end', () => {
        const ids = JSON.parse(body) as string[];
        this.reports.push({ client: String(req.headers['x-client-id']), ids });
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ accepted: ids.length, ignored: 0 }));
        this.notify();
      });
      return;
    }
    res.writeHead(404).end();
  }

  private notify(): void {
    for (const w of this.waiters) w();
  }

  until(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (!predicate()) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`timed out: ${this.streams.length} streams, ${this.reports.length} reports`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  async stop(): Promise<void> {
    for (const s of this.streams) s.res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}

let seq = 0;
/** A message with a unique, xid-looking id. */
export const msg = (period: number): WorkMessage => ({ id: `m${String(++seq).padStart(19, '0')}`, period });
