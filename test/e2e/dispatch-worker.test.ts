import { afterEach, describe, expect, it } from 'vitest';
import { EXIT_TASK_CRASH } from '../../src/core/exit-codes.js';
import { msg, ScriptedDispatcher } from '../dispatch/scripted-dispatcher.js';
import { startNetlab, type NetlabProcess } from '../helpers/netlab-process.js';

let scripted: ScriptedDispatcher | undefined;
const running: NetlabProcess[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop('SIGKILL')));
  await scripted?.stop();
  scripted = undefined;
});

describe('netlab worker process', () => {
  it('lives on after a panic, and exits with EXIT_TASK_CRASH (4) the moment a task with period > 900 ends', async () => {
    scripted = await ScriptedDispatcher.start();
    const worker = startNetlab(['worker', '--url', scripted.url, '--batchsize', '2', '--time-scale', '0.01']);
    running.push(worker);
    await scripted.until(() => scripted!.streams.length === 1, 20_000);
    const s = scripted.streams[0]!;
    const first = [msg(850), msg(20)];
    s.send(first);
    await scripted.until(() => scripted!.reports.length === 1);
    expect(scripted.reports[0]!.ids).toEqual([first[1]!.id]);
    expect(worker.child.exitCode).toBeNull();
    s.send([msg(30), msg(901)]);
    expect(await worker.exited).toBe(EXIT_TASK_CRASH);
    expect(scripted.reports).toHaveLength(1);
    expect(worker.stdout()).toMatch(/period 901 > 900: the worker exits with code 4/);
    const summary = JSON.parse(await worker.waitFor(/"worker summary"/)) as { exitCode: number; tasks: { panicked: number } };
    expect(summary).toMatchObject({ exitCode: EXIT_TASK_CRASH, tasks: { panicked: 1 } });
  });

  it('SIGTERM stops it cleanly with a summary; bad flags exit 2 naming the flag', async () => {
    scripted = await ScriptedDispatcher.start();
    const worker = startNetlab(['worker', '--url', scripted.url]);
    running.push(worker);
    await scripted.until(() => scripted!.streams.length === 1, 20_000);
    expect([...Array(9)].map((_, i) => i + 2)).toContain(scripted.streams[0]!.batchsize);
    expect(await worker.stop('SIGTERM')).toBe(0);
    expect(worker.stdout()).toMatch(/"worker summary"/);
    const bad = startNetlab(['worker', '--batchsize', '0', '--time-scale', 'fast']);
    running.push(bad);
    expect(await bad.exited).toBe(2);
    expect(bad.stderr()).toMatch(/--batchsize/);
    expect(bad.stderr()).toMatch(/--time-scale/);
  });
});
