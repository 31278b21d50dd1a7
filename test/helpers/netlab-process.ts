import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach } from 'vitest';
import { waitForHttp as waitUntilReady } from '../../src/core/net.js';

export { freePort } from '../../src/core/net.js';

/** The built CLI; `npm test` builds it first (pretest). */
export const MAIN = fileURLToPath(new URL('../../dist/main.js', import.meta.url));

const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export interface NetlabProcess {
  child: ChildProcess;
  /** Everything the process printed so far (stdout and stderr). */
  output(): string;
  stdout(): string;
  stderr(): string;
  /** Resolves with the first line matching `pattern` (already printed or yet to come). */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Resolves with the exit code (or 128+signal). */
  exited: Promise<number>;
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number>;
}

/** Runs `node dist/main.js <args>` with the current Node, capturing output. */
export function startNetlab(args: string[], env: NodeJS.ProcessEnv = {}, cwd?: string): NetlabProcess {
  const child = spawn(process.execPath, [MAIN, ...args], {
    cwd,
    env: { ...process.env, METRICS_PORT: '0', LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let out = '';
  let err = '';
  const listeners = new Set<() => void>();
  child.stdout!.on('data', (c: Buffer) => {
    out += c.toString();
    for (const l of listeners) l();
  });
  child.stderr!.on('data', (c: Buffer) => {
    err += c.toString();
    for (const l of listeners) l();
  });
  const exited = new Promise<number>((resolve) => {
    child.once('exit', (code, signal) => {
      running.delete(child);
      for (const l of listeners) l();
      resolve(code ?? 128 + (signal ? ({ SIGKILL: 9, SIGTERM: 15, SIGINT: 2 } as Record<string, number>)[signal] ?? 0 : 0));
    });
  });
  const all = () => out + err;
  return {
    child,
    output: all,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const line = all().split('\n').find((l) => pattern.test(l));
          if (line !== undefined) {
            done();
            resolve(line);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            done();
            reject(new Error(`process exited before printing ${pattern}:\n${all().slice(-3000)}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out waiting for ${pattern}:\n${all().slice(-3000)}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      });
    },
    async stop(signal = 'SIGTERM', timeoutMs = 20_000) {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
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
