import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';
import { startProcess, type RunningProcess } from '../../src/core/child-process.js';
import { waitForHttp as waitUntilReady } from '../../src/core/net.js';

export { freePort } from '../../src/core/net.js';

/** The built CLI; `npm test` builds it first (pretest). */
export const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

/** A `netlab` process under test: src/core/child-process.ts's RunningProcess. */
export type NetlabProcess = RunningProcess;

/** Runs `node dist/main.js <args>` with the current Node, capturing output. */
export function startNetlab(args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): NetlabProcess {
  return startProcess(process.execPath, [MAIN, ...args], { cwd, env: { ...process.env, METRICS_PORT: '0', LOG_LEVEL: 'info', ...env } });
}

/** Polls until `url` answers 200 (or the timeout passes). */
export const waitForHttp = (url: string, timeoutMs = 30_000): Promise<void> => waitUntilReady(url, timeoutMs);

/**
 * A `startNetlab` whose processes are all SIGKILLed after each test of the calling file, even when
 * a test fails half-way. Call once at the top level of a test file.
 */
export function startNetlabPerTest(): (args: string[], env?: NodeJS.ProcessEnv) => NetlabProcess {
  const started: NetlabProcess[] = [];
  afterEach(async () => {
    await Promise.all(started.splice(0).map((p) => p.stop('SIGKILL')));
  });
  return (args, env) => {
    const p = startNetlab(args, env);
    started.push(p);
    return p;
  };
}

/** A pid that surely ran and has exited (for stale-lock tests). */
export async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((r) => child.once('exit', r));
  return child.pid!;
}
