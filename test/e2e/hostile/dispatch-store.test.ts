import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXIT_STORE_DAMAGED } from '../../../src/core/exit-codes.js';
import { mulberry32, uniformInt } from '../../../src/core/prng.js';
import { DATA_FILE, MARKER_FILE } from '../../../src/dispatch/store-check.js';
import { DispatchStore, type MessageRecord } from '../../../src/dispatch/store.js';
import { newXid } from '../../../src/dispatch/xid.js';
import { tempDir } from '../../dispatch/helpers.js';
import { freePort, startNetlabPerTest, type NetlabProcess } from '../../helpers/netlab-process.js';

const netlab = startNetlabPerTest();
const RECORDS = 3000;
const DEAD = 500;

let base: { dir: string; remove: () => Promise<void> };
const cleanups: (() => Promise<void>)[] = [];

/** A store as a dispatcher leaves it: records written, then a real dispatcher run and a clean stop (the marker). */
beforeAll(async () => {
  base = await tempDir('netlab-dispatch-damage-');
  const store = new DispatchStore(base.dir);
  const now = Date.now();
  for (let i = 0; i < RECORDS; i++) {
    const id = newXid(new Date(now));
    const dead = i < DEAD;
    const attempts = dead ? [1, 2, 3].map((k) => ({ client: 'c'.repeat(20), leasedAt: now + k, at: now + k + 1, reason: 'not-reported' as const })) : [];
    const record: MessageRecord = dead
      ? { id, period: 900, state: 'dead', createdAt: now, attempts }
      : { id, period: 100, state: 'done', createdAt: now, attempts, done: { client: 'c'.repeat(20), leasedAt: now, at: now + 1 } };
    // Committed in order: the close below waits for every write.
    void store.putMessage(record);
    if (dead) void store.putDeadLetter({ id, period: 900, createdAt: now, deadAt: now + 4, attempts });
  }
  void store.putGenerated(RECORDS);
  await store.close();
  const port = await freePort();
  const d = netlab(['dispatcher', '--host', '127.0.0.1', '--port', String(port), '--data', base.dir]);
  await d.waitFor(/listening on/);
  expect(await d.stop('SIGTERM')).toBe(0);
  const marker = JSON.parse(readFileSync(join(base.dir, MARKER_FILE), 'utf8')) as { records: number };
  expect(marker.records).toBe(RECORDS);
}, 60_000);

afterAll(async () => {
  for (const c of cleanups.splice(0)) await c();
  await base?.remove();
});

/** A copy of the good store (data.mdb and the marker), damaged by `damage`. */
async function damaged(damage: (data: string) => void): Promise<string> {
  const { dir, remove } = await tempDir('netlab-dispatch-damaged-');
  cleanups.push(remove);
  copyFileSync(join(base.dir, DATA_FILE), join(dir, DATA_FILE));
  copyFileSync(join(base.dir, MARKER_FILE), join(dir, MARKER_FILE));
  damage(join(dir, DATA_FILE));
  return dir;
}

const size = (path: string) => statSync(path).size;
const DAMAGES: [string, (data: string) => void][] = [
  ['cut in half', (p) => truncateSync(p, Math.floor(size(p) / 2))],
  ['cut in half at a page boundary', (p) => truncateSync(p, Math.floor(size(p) / 8192) * 4096)],
  ['its first 8 KiB zeroed', (p) => writeFileSync(p, Buffer.concat([Buffer.alloc(8192), readFileSync(p).subarray(8192)]))],
  ['a garbage text file', (p) => writeFileSync(p, 'this is not a database\n'.repeat(5000))],
  ['random bytes', (p) => writeFileSync(p, randomBytes(size(p)))],
  ['empty (0 bytes), with the marker beside it', (p) => truncateSync(p, 0)],
  ['missing, with the marker beside it', (p) => rmSync(p)],
];

/** Lines of stderr that are not pino log lines. */
const plainLines = (text: string) => text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('{'));

async function expectRefused(p: NetlabProcess, dir: string): Promise<void> {
  const code = await p.exited;
  const lines = plainLines(p.stderr());
  expect(code, p.output()).toBe(EXIT_STORE_DAMAGED);
  expect(lines, p.output()).toHaveLength(1);
  expect(lines[0]).toContain(join(dir, DATA_FILE));
  expect(lines[0]).toMatch(/restore .* from a backup, or (move|remove) /);
}

describe('a damaged dispatcher store stops the role with one line and exit 65, never a crash or an empty start', () => {
  for (const [what, damage] of DAMAGES) {
    it(`dispatcher: data.mdb ${what}`, async () => {
      const dir = await damaged(damage);
      const before = existsSync(join(dir, DATA_FILE)) ? readFileSync(join(dir, DATA_FILE)) : undefined;
      const port = await freePort();
      const p = netlab(['dispatcher', '--host', '127.0.0.1', '--port', String(port), '--data', dir]);
      await expectRefused(p, dir);
      // Nothing was started over it: the file is as it was, and no port was opened.
      expect(existsSync(join(dir, DATA_FILE)) ? readFileSync(join(dir, DATA_FILE)) : undefined).toEqual(before);
      expect(p.stdout()).not.toMatch(/listening on/);
    });

    it(`dispatcher dead-letters: data.mdb ${what}`, async () => {
      const dir = await damaged(damage);
      const p = netlab(['dispatcher', 'dead-letters', '--data', dir]);
      await expectRefused(p, dir);
      // Not one dead letter printed before the failure.
      expect(p.stdout()).toBe('');
    });
  }

  it('the undamaged copy is read whole by both (the cases above fail for the damage, not the copy)', async () => {
    const dir = await damaged(() => undefined);
    const list = netlab(['dispatcher', 'dead-letters', '--data', dir]);
    expect(await list.exited).toBe(0);
    expect(list.stdout().trim().split('\n')).toHaveLength(DEAD);
    const port = await freePort();
    const d = netlab(['dispatcher', '--host', '127.0.0.1', '--port', String(port), '--data', dir]);
    await d.waitFor(/listening on/);
    const stats = (await (await fetch(`http://127.0.0.1:${port}/stats`)).json()) as { done: number; dead: number };
    expect(stats).toMatchObject({ done: RECORDS - DEAD, dead: DEAD });
    expect(await d.stop('SIGTERM')).toBe(0);
  });
});

/** Seeded bytes (core's PRNG), so a run damages the same pages the same way. */
function seededBytes(seed: number, length: number): Buffer {
  const random = mulberry32(seed);
  return Buffer.from(Array.from({ length }, () => uniformInt(random, 0, 255)));
}

describe('damage inside a whole file (LMDB keeps no checksums) never starts a store with records missing', () => {
  it('records gone behind its back (the file reads, the counts disagree): refused by both, naming how many', async () => {
    const dir = await damaged(() => undefined);
    const store = new DispatchStore(dir);
    let removed = 0;
    for (const record of store.allMessages()) {
      if (record.state !== 'done' || removed === 100) continue;
      void store.messages.remove(record.id);
      removed++;
    }
    await store.close();
    const port = await freePort();
    const p = netlab(['dispatcher', '--host', '127.0.0.1', '--port', String(port), '--data', dir]);
    await expectRefused(p, dir);
    expect(plainLines(p.stderr())[0]).toContain(`100 of its ${RECORDS} messages cannot be found`);
    const list = netlab(['dispatcher', 'dead-letters', '--data', dir]);
    await expectRefused(list, dir);
    expect(list.stdout()).toBe('');
  });

  it('a dead letter gone while its dead message stays: refused (the listing would be short)', async () => {
    const dir = await damaged(() => undefined);
    const store = new DispatchStore(dir);
    const first = store.allDeadLetters().next().value!;
    await store.deadLetters.remove(first.id);
    await store.close();
    const list = netlab(['dispatcher', 'dead-letters', '--data', dir]);
    await expectRefused(list, dir);
    expect(plainLines(list.stderr())[0]).toContain(`${DEAD - 1} dead letters for ${DEAD} dead messages`);
  });

  it('a page in the middle overwritten with random bytes: refused, or (a free page) started with every record', async () => {
    let refused = 0;
    for (const [seed, at] of [[1, 0.25], [2, 0.5], [3, 0.75]] as const) {
      const dir = await damaged((data) => {
        const bytes = readFileSync(data);
        const page = Math.floor((bytes.length / 4096) * at);
        seededBytes(seed, 4096).copy(bytes, page * 4096);
        writeFileSync(data, bytes);
      });
      const port = await freePort();
      const p = netlab(['dispatcher', '--host', '127.0.0.1', '--port', String(port), '--data', dir]);
      const outcome = await Promise.race([p.exited.then(() => 'exited' as const), p.waitFor(/listening on/).then(() => 'listening' as const)]);
      if (outcome === 'exited') {
        await expectRefused(p, dir);
        refused++;
        continue;
      }
      const stats = (await (await fetch(`http://127.0.0.1:${port}/stats`)).json()) as { done: number; dead: number };
      expect(stats, `page at ${at} of the file`).toMatchObject({ done: RECORDS - DEAD, dead: DEAD });
      expect(await p.stop('SIGTERM')).toBe(0);
    }
    // Pages in the middle of this store are nearly all in use: most of these must be damage.
    expect(refused).toBeGreaterThanOrEqual(2);
  });
});
