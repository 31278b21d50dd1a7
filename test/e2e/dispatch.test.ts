import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { ExperimentReport } from '../../src/core/experiment-report.js';
import { auditStore } from '../../src/dispatch/accounting.js';
import type { StatsBody } from '../../src/dispatch/protocol.js';
import { DispatchStore } from '../../src/dispatch/store.js';
import { tempDir } from '../dispatch/helpers.js';
import { freePort, startNetlab, waitForHttp, type NetlabProcess } from '../helpers/netlab-process.js';

const running: NetlabProcess[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop('SIGKILL')));
  for (const c of cleanups.splice(0)) await c();
});

function netlab(args: string[]): NetlabProcess {
  const p = startNetlab(args);
  running.push(p);
  return p;
}

async function dispatcher(port: number, dir: string, extra: string[] = []): Promise<NetlabProcess> {
  const p = netlab(['dispatcher', '--port', String(port), '--host', '127.0.0.1', '--data', dir, ...extra]);
  await waitForHttp(`http://127.0.0.1:${port}/readyz`);
  return p;
}

const stats = async (url: string): Promise<StatsBody> => (await (await fetch(`${url}/stats`)).json()) as StatsBody;

async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > deadline) throw new Error(`condition not met in ${timeoutMs} ms; last ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Reads the store from this process while (or after) a dispatcher process writes it: LMDB allows that. */
async function withStore<T>(dir: string, fn: (s: DispatchStore) => T): Promise<T> {
  const s = new DispatchStore(dir, { readOnly: true });
  try {
    return fn(s);
  } finally {
    await s.root.close();
  }
}

describe('dispatcher processes', () => {
  it('survives SIGKILL mid-run: committed state is kept, open leases count as failed attempts, the accounting holds', async () => {
    const { dir, remove } = await tempDir();
    cleanups.push(remove);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    // A 60 s lease: the slow worker's batch (below) outlives it by far, and it must still be open at the kill.
    let d = await dispatcher(port, dir, ['--lease', '60s']);
    const swarm = netlab(['worker', '--url', url, '--count', '10', '--time-scale', '0.01', '--seed', '3']);
    // The swarm's tasks take milliseconds, so a lease of theirs may or may not be open at the kill. A slow
    // worker (every task 100x its period, reported per batch of 3) surely holds a committed lease then.
    const slow = netlab(['worker', '--url', url, '--batchsize', '3', '--time-scale', '100']);
    await until(() => stats(url), (s) => s.done >= 100);
    // A lease held for over a second is the slow worker's (the swarm's last milliseconds).
    const slowClient = await until(
      () => withStore(dir, (s) => [...s.allMessages()].filter((m) => m.state === 'leased' && Date.now() - m.lease!.at > 1000).map((m) => m.lease!.client)),
      (held) => held.length > 0,
    );
    const killedAt = await stats(url);
    d.child.kill('SIGKILL');
    expect(await d.exited).toBe(137);
    // The slow worker must not come back: its leases stay open in the store until the restart fails them.
    slow.child.kill('SIGKILL');
    // Everything committed before the kill, read straight from LMDB.
    const before = await withStore(dir, (s) => {
      const done: string[] = [];
      const dead: string[] = [];
      const leased: { id: string; client: string; attempts: number }[] = [];
      for (const m of s.allMessages()) {
        if (m.state === 'done') done.push(m.id);
        else if (m.state === 'dead') dead.push(m.id);
        else if (m.state === 'leased') leased.push({ id: m.id, client: m.lease!.client, attempts: m.attempts.length });
      }
      return { done, dead, leased };
    });
    // /stats reads memory, which may be one commit ahead of the store: only "close" is guaranteed.
    expect(before.done.length).toBeGreaterThan(killedAt.done / 2);
    expect(before.leased.map((l) => l.client)).toContain(slowClient[0]);

    d = await dispatcher(port, dir, ['--lease', '5s']);
    const recovered = await d.waitFor(/recovered \d+ messages/);
    expect(JSON.parse(recovered)).toMatchObject({ leasesFailed: before.leased.length });
    const after = await stats(url);
    expect(after.done).toBeGreaterThanOrEqual(before.done.length);
    expect(after.dead).toBeGreaterThanOrEqual(before.dead.length);
    // Workers reconnect and work goes on.
    await until(() => stats(url), (s) => s.done >= after.done + 50 && s.clients > 0);
    expect(await swarm.stop('SIGTERM')).toBe(0);
    const summary = JSON.parse(await swarm.waitFor(/"worker summary"/)) as { accepted: number };
    expect(await d.stop('SIGTERM')).toBe(0);

    const audit = await withStore(dir, (s) => {
      for (const id of before.done) expect(s.getMessage(id)?.state, id).toBe('done');
      for (const id of before.dead) expect(s.getDeadLetter(id)?.attempts, id).toHaveLength(3);
      for (const l of before.leased) {
        expect(s.getMessage(l.id)!.attempts[l.attempts], l.id).toMatchObject({ client: l.client, reason: 'dispatcher-restart' });
      }
      return auditStore(s, { maxAttempts: 3, workerRules: true, acceptedByWorkers: summary.accepted });
    });
    expect(audit.checks.filter((c) => !c.pass)).toEqual([]);
    expect(audit.attemptsByReason['dispatcher-restart']).toBe(before.leased.length);
    expect(audit.byState.leased).toBe(0);
  });

  it('a worker killed mid-batch: its messages fail as stream-closed and go to another worker; dead-letters prints the store', async () => {
    const { dir, remove } = await tempDir();
    cleanups.push(remove);
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const d = await dispatcher(port, dir, ['--backlog', '0']);
    // time-scale 100: every task sleeps 100x its period, so the batch is surely still running when killed.
    const slow = netlab(['worker', '--url', url, '--batchsize', '3', '--time-scale', '100']);
    // The stats show memory, which runs a commit ahead of LMDB: wait for the store itself.
    const held = await until(() => withStore(dir, (s) => [...s.allMessages()].filter((m) => m.state === 'leased')), (h) => h.length === 3);
    expect(held).toHaveLength(3);
    const victim = held[0]!.lease!.client;
    slow.child.kill('SIGKILL');
    await until(() => stats(url), (s) => s.leased === 0 && s.queued === 3);
    // A swarm of 2 in one process: it replaces a worker that exits by the > 900 rule.
    const fast = netlab(['worker', '--url', url, '--batchsize', '3', '--count', '2', '--time-scale', '0.001']);
    await until(() => stats(url), (s) => s.done + s.dead >= 30);
    await withStore(dir, (s) => {
      for (const h of held) {
        const m = s.getMessage(h.id)!;
        expect(m.attempts[0]).toMatchObject({ client: victim, reason: 'stream-closed' });
        const second = m.done?.client ?? m.attempts[1]?.client ?? m.lease?.client;
        expect(second).toBeDefined();
        expect(second).not.toBe(victim);
      }
    });

    // dead-letters: the same items as GET /dead-letters, as JSON lines, while the dispatcher runs.
    await fast.stop('SIGTERM');
    const api = (await (await fetch(`${url}/dead-letters?limit=1000`)).json()) as { items: unknown[] };
    expect(api.items.length).toBeGreaterThan(0);
    // At the default log level: stdout holds the dead letters and nothing else (log lines go to stderr).
    const cli = netlab(['dispatcher', 'dead-letters', '--data', dir]);
    expect(await cli.exited).toBe(0);
    const lines = cli.stdout().trimEnd().split('\n');
    expect(lines.map((l) => JSON.parse(l))).toEqual(api.items);
    await d.stop('SIGTERM');
    const bad = netlab(['dispatcher', 'dead-letters', '--data', join(dir, 'nope')]);
    expect(await bad.exited).toBe(2);
    expect(bad.stderr()).toMatch(/no dispatcher store/);
  });

  it('dispatch-lab: a quick run writes a passing ExperimentReport with the final accounting', async () => {
    const { dir, remove } = await tempDir();
    cleanups.push(remove);
    const file = join(dir, 'dispatch.json');
    const lab = netlab(['dispatch-lab', '--workers', '4', '--duration', '6s', '--time-scale', '0.02', '--dispatcher-kills', '1', '--seed', '5', '--report', file]);
    const code = await lab.exited;
    expect(code, lab.output().slice(-3000)).toBe(0);
    expect(lab.stdout()).toMatch(/Final accounting/);
    const report = JSON.parse(await readFile(file, 'utf8')) as ExperimentReport;
    expect(report.experiment).toBe('dispatch');
    expect(report.checks.length).toBeGreaterThanOrEqual(6);
    expect(report.checks.filter((c) => !c.pass)).toEqual([]);
    expect(report.headline).toMatchObject({ dispatcher_kills: 1, workers: 4 });
    const h = report.headline as Record<string, number>;
    expect(h.generated).toBe(h.done! + h.dead! + h.queued! + h.leased!);
    expect(h.leased).toBe(0);
    expect(report.series!.done!.length).toBeGreaterThan(3);
    const accounting = JSON.parse(await readFile(join(dir, report.files.accounting!), 'utf8')) as { attemptsByReason: Record<string, number> };
    // The lab counts the leases the killed dispatcher left in the store (it kills while stats show some,
    // but leases of a few ms can all end in between): the restart fails exactly those, once each.
    expect(accounting.attemptsByReason['dispatcher-restart']).toBe(h.leases_open_at_kills);
    expect(report.checks.map((c) => c.name)).toContain('every lease open at a dispatcher kill failed once, at the restart (dispatcher-restart)');
  });
});
