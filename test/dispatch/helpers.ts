import { mkdtemp, rm } from 'node:fs/promises';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lifecycle } from '../../src/core/lifecycle.js';
import { createRegistry } from '../../src/core/metrics.js';
import { auditStore, type Accounting, type AuditOptions } from '../../src/dispatch/accounting.js';
import type { DispatchEngine } from '../../src/dispatch/engine.js';
import { startDispatcher, type DispatcherOptions } from '../../src/dispatch/server.js';
import { SseParser, type SseEvent } from '../../src/dispatch/sse-parser.js';
import { DispatchStore } from '../../src/dispatch/store.js';
import { silentLogger } from '../helpers/logger.js';

export async function tempDir(prefix = 'netlab-dispatch-test-'): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

export interface TestDispatcher {
  url: string;
  engine: DispatchEngine;
  server: Server;
  dir: string;
  /** Graceful stop (open leases fail, writes commit, LMDB closes); the directory stays. */
  shutdown(): Promise<void>;
  /** shutdown, then remove the directory (when the test did not give one). */
  stop(): Promise<void>;
  /** Stops the dispatcher and audits what is on disk, through a fresh read-only environment. */
  auditAfterStop(options: AuditOptions): Promise<Accounting>;
}

/** A dispatcher in this process on a free port and a fresh (or given) LMDB directory. */
export async function startTestDispatcher(options: Partial<DispatcherOptions> = {}): Promise<TestDispatcher> {
  const own = options.data ? undefined : await tempDir();
  const dir = options.data ?? own!.dir;
  const lifecycle = new Lifecycle(silentLogger, 5000);
  const registry = createRegistry('dispatcher');
  const { server, engine } = await startDispatcher(
    { port: 0, host: '127.0.0.1', data: dir, backlog: 10, leaseMs: 30_000, maxAttempts: 3, maxBatch: 1000, pingMs: 15_000, ...options },
    { logger: silentLogger, lifecycle, registry },
  );
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    engine,
    server,
    dir,
    shutdown: () => lifecycle.shutdown('test').then(() => undefined),
    async stop() {
      await lifecycle.shutdown('test');
      await own?.remove();
    },
    async auditAfterStop(auditOptions) {
      await lifecycle.shutdown('test');
      const store = new DispatchStore(dir, { readOnly: true });
      try {
        return auditStore(store, auditOptions);
      } finally {
        await store.root.close();
      }
    },
  };
}

/** A raw /task stream: every event and comment in order, for exact protocol assertions. */
export class StreamClient {
  readonly events: SseEvent[] = [];
  readonly comments: string[] = [];
  status = 0;
  headers: Headers | undefined;
  raw = '';
  client = '';
  private readonly controller = new AbortController();
  private waiters = new Set<() => void>();
  ended = false;

  static async open(url: string, batchsize: number | string): Promise<StreamClient> {
    const c = new StreamClient();
    await c.start(`${url}/task?batchsize=${batchsize}`);
    return c;
  }

  private async start(url: string): Promise<void> {
    const res = await fetch(url, { signal: this.controller.signal });
    this.status = res.status;
    this.headers = res.headers;
    if (res.status !== 200) {
      this.raw = await res.text();
      this.ended = true;
      return;
    }
    const parser = new SseParser();
    const decoder = new TextDecoder();
    void (async () => {
      try {
        for await (const chunk of res.body!) {
          const text = decoder.decode(chunk, { stream: true });
          this.raw += text;
          for (const item of parser.feed(text)) {
            if (item.type === 'event') {
              this.events.push(item.event);
              if (item.event.event === 'hello') this.client = (JSON.parse(item.event.data) as { client: string }).client;
            } else this.comments.push(item.text);
          }
          for (const w of this.waiters) w();
        }
      } catch {
        // aborted by close()
      } finally {
        this.ended = true;
        for (const w of this.waiters) w();
      }
    })();
    await this.until(() => this.client !== '');
  }

  messages(): { id: string; period: number }[] {
    return this.events.filter((e) => e.event === 'msg').map((e) => JSON.parse(e.data) as { id: string; period: number });
  }

  /** Waits until `n` msg events in total have arrived. */
  async waitMessages(n: number, timeoutMs = 5000): Promise<{ id: string; period: number }[]> {
    await this.until(() => this.messages().length >= n, timeoutMs);
    return this.messages();
  }

  until(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (predicate()) {
          done();
          resolve();
        } else if (this.ended) {
          done();
          reject(new Error(`stream ended first; got ${this.events.length} events: ${this.raw.slice(-500)}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timed out; got ${this.events.length} events`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
      };
      this.waiters.add(check);
      check();
    });
  }

  close(): void {
    this.controller.abort();
  }
}

export async function report(url: string, client: string, body: unknown, how: 'header' | 'query' | 'cookie' = 'header'): Promise<{ status: number; body: unknown }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  let target = `${url}/report`;
  if (how === 'header') headers['x-client-id'] = client;
  else if (how === 'cookie') headers.cookie = `client=${client}`;
  else target += `?client=${client}`;
  const res = await fetch(target, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: res.status, body: await res.json() };
}

export const settle = (ms = 50): Promise<void> => new Promise((r) => setTimeout(r, ms));
