import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT_STORE_LOCKED } from '../../../src/core/exit-codes.js';
import { LOCK_FILE } from '../../../src/dispatch/store-lock.js';
import { StreamClient, tempDir } from '../../dispatch/helpers.js';
import { freePort, startNetlabPerTest, waitForHttp } from '../../helpers/netlab-process.js';

const netlab = startNetlabPerTest();
const cleanups: (() => Promise<void>)[] = [];
const streams: StreamClient[] = [];
afterEach(async () => {
  for (const s of streams.splice(0)) s.close();
  for (const c of cleanups.splice(0)) await c();
});

async function dispatcher(port: number, dir: string, extra: string[] = []) {
  const p = netlab(['dispatcher', '--host', '127.0.0.1', '--port', String(port), '--data', dir, ...extra]);
  await waitForHttp(`http://127.0.0.1:${port}/readyz`);
  return p;
}

const plainLines = (text: string) => text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('{'));

describe('one dispatcher per --data directory', () => {
  it('a second dispatcher on the same directory refuses to start, naming the holder; the leased ids are never handed out twice', async () => {
    const { dir, remove } = await tempDir();
    cleanups.push(remove);
    const [portA, portB] = [await freePort(), await freePort()];
    const a = await dispatcher(portA, dir, ['--backlog', '5']);
    const first = await StreamClient.open(`http://127.0.0.1:${portA}`, 5);
    streams.push(first);
    const leased = (await first.waitMessages(5)).map((m) => m.id);

    const b = netlab(['dispatcher', '--host', '127.0.0.1', '--port', String(portB), '--data', dir]);
    expect(await b.exited, b.output()).toBe(EXIT_STORE_LOCKED);
    const lines = plainLines(b.stderr());
    expect(lines, b.output()).toHaveLength(1);
    expect(lines[0]).toContain(`--data ${dir} is in use by dispatcher pid ${a.child.pid}`);
    expect(lines[0]).toContain(`(port ${portA})`);
    // B never listened, so nobody can lease those ids from it.
    await expect(fetch(`http://127.0.0.1:${portB}/task?batchsize=5`)).rejects.toThrow();
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8'))).toMatchObject({ pid: a.child.pid, port: portA });

    // A is unharmed: its client still holds the batch, and A keeps serving.
    const stats = (await (await fetch(`http://127.0.0.1:${portA}/stats`)).json()) as { leased: number };
    expect(stats.leased).toBe(5);
    expect(new Set(leased).size).toBe(5);
  });

  it('dead-letters reads beside a running dispatcher (read-only, no lock needed)', async () => {
    const { dir, remove } = await tempDir();
    cleanups.push(remove);
    const port = await freePort();
    // One attempt only: a client that leaves dead-letters its batch at once.
    await dispatcher(port, dir, ['--backlog', '2', '--max-attempts', '1']);
    const c = await StreamClient.open(`http://127.0.0.1:${port}`, 2);
    const ids = (await c.waitMessages(2)).map((m) => m.id);
    c.close();
    const deadLetters = async () => {
      const list = netlab(['dispatcher', 'dead-letters', '--data', dir]);
      expect(await list.exited, list.output()).toBe(0);
      return list.stdout().split('\n').filter(Boolean).map((l) => (JSON.parse(l) as { id: string }).id);
    };
    for (;;) {
      const listed = await deadLetters();
      if (listed.length === 2) {
        expect(listed.sort()).toEqual([...ids].sort());
        break;
      }
      expect(listed.length).toBeLessThan(2);
    }
  });

  it('a dispatcher killed with SIGKILL leaves no lock behind: the next one starts at once and fails the open leases', async () => {
    const { dir, remove } = await tempDir();
    cleanups.push(remove);
    const port = await freePort();
    const a = await dispatcher(port, dir, ['--backlog', '3']);
    const c = await StreamClient.open(`http://127.0.0.1:${port}`, 3);
    streams.push(c);
    await c.waitMessages(3);
    a.child.kill('SIGKILL');
    expect(await a.exited).toBe(137);
    // The lock file still names the dead holder; the kernel dropped its flock with the process.
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8'))).toMatchObject({ pid: a.child.pid });
    const b = await dispatcher(port, dir);
    const stats = (await (await fetch(`http://127.0.0.1:${port}/stats`)).json()) as { leased: number; queued: number };
    expect(stats.leased).toBe(0);
    expect(stats.queued).toBeGreaterThanOrEqual(3);
    expect(JSON.parse(readFileSync(join(dir, LOCK_FILE), 'utf8'))).toMatchObject({ pid: b.child.pid, port });
  });
});
