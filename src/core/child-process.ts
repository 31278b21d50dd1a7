import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { exitCodeForSignal } from './exit-codes.js';
import { waitForHttp } from './net.js';

/**
 * Every child process netlab starts (the lab's roles, the benches' servers, the test helper's `netlab`)
 * goes through `startProcess`: one mapping of a signal to an exit code, output decoded as UTF-8 across
 * chunk boundaries, waiting for a line or for HTTP readiness, and stopping a process (or its group).
 */

/** The netlab CLI of this build (dist/main.js): roles that orchestrate others run them as processes of it. */
export const NETLAB_MAIN = fileURLToPath(new URL('../main.js', import.meta.url));
/**
 * After the exit, how long the output pipes may stay silent before they count as drained: a grandchild
 * that holds them open is not waited for, but output still arriving (a loaded machine drains slowly) is.
 */
export const OUTPUT_DRAIN_MS = 2000;
/** Characters kept of a process's output by default: all of it. */
const KEEP_ALL = Number.POSITIVE_INFINITY;

/** A process's exit code as a shell reports it: its own code, or 128 + the number of the signal that ended it. */
export function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  return signal ? exitCodeForSignal(signal) : 1;
}

export type ProcessStream = 'stdout' | 'stderr';

export interface ProcessOptions {
  /** The whole environment of the child (default: this process's). */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /**
   * Its own process group: a Ctrl-C on the terminal does not reach it, and `kill`/`stop` signal the whole
   * group, grandchildren included (`process.kill(-pid)`).
   */
  group?: boolean;
  /** Both streams are also written to this file, as they come. */
  logFile?: string;
  /** How many characters of each stream `output()` keeps, the latest (default: all). */
  keepChars?: number;
  /** Every line of either stream (without its newline), as it completes. */
  onLine?: (line: string, stream: ProcessStream) => void;
}

/** Why a wait for a process ended without what it waited for. */
export class ProcessWaitError extends Error {
  override name = 'ProcessWaitError';
  constructor(
    message: string,
    /** `exited`: the process ended first (`exitCode` says how); `timeout`: the time ran out; `spawn`: it never started. */
    readonly kind: 'exited' | 'timeout' | 'spawn',
    readonly exitCode?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

export interface RunningProcess {
  child: ChildProcess;
  pid: number | undefined;
  /** Everything the process printed so far (stdout, then stderr). */
  output(): string;
  stdout(): string;
  stderr(): string;
  /** The last `lines` lines of the output joined by " | ", for an error message. */
  tail(lines?: number): string;
  /** Resolves with the first line (of either stream) that matches, already printed or yet to come; rejects with a ProcessWaitError. */
  waitFor(pattern: RegExp | ((line: string) => boolean), timeoutMs?: number): Promise<string>;
  /** Polls `url` until it answers 200; rejects with a ProcessWaitError when the process exits first or the time runs out. */
  waitForHttp(url: string, timeoutMs: number, signal?: AbortSignal): Promise<void>;
  /** Resolves with the exit code (128 + signal number when a signal ended it) once the output is read. */
  exited: Promise<number>;
  /** Whether the process has exited. */
  readonly done: boolean;
  /** Sends `signal` to the process (to its group with `group`), if it still runs. */
  kill(signal?: NodeJS.Signals): void;
  /** Sends `signal`, SIGKILLs after `killAfterMs`, and resolves with the exit code. */
  stop(signal?: NodeJS.Signals, killAfterMs?: number): Promise<number>;
}

const running = new Set<RunningProcess>();
// No child outlives the process that started it, even when that one exits early.
process.on('exit', () => {
  for (const p of running) p.kill('SIGKILL');
});

/** Sends `signal` to a raw ChildProcess, waits for the exit, and SIGKILLs it if it has not gone after `killAfterMs`. */
export function stopChild(child: ChildProcess, signal: NodeJS.Signals, killAfterMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}

/** Splits a decoded stream into lines; the unfinished last line is `rest`. */
class StreamText {
  text = '';
  rest = '';
  constructor(private readonly keep: number) {}
  add(chunk: string, onLine: (line: string) => void): void {
    this.text += chunk;
    if (this.text.length > this.keep) this.text = this.keep > 0 ? this.text.slice(-this.keep) : '';
    const lines = (this.rest + chunk).split('\n');
    this.rest = lines.pop()!;
    for (const line of lines) onLine(line.endsWith('\r') ? line.slice(0, -1) : line);
  }
  end(onLine: (line: string) => void): void {
    if (this.rest) onLine(this.rest);
    this.rest = '';
  }
}

/** Starts `command args` with piped output, kept and decoded as UTF-8. */
export function startProcess(command: string, args: readonly string[], options: ProcessOptions = {}): RunningProcess {
  const child = spawn(command, args, { cwd: options.cwd, env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], detached: options.group ?? false });
  const keep = options.keepChars ?? KEEP_ALL;
  const streams = { stdout: new StreamText(keep), stderr: new StreamText(keep) };
  const log = options.logFile ? createWriteStream(options.logFile) : undefined;
  const lineListeners = new Set<(line: string) => void>();
  const wakeListeners = new Set<() => void>();
  let spawnError: Error | undefined;
  let ended = false;

  const onLine = (stream: ProcessStream) => (line: string) => {
    options.onLine?.(line, stream);
    for (const l of lineListeners) l(line);
  };
  let lastOutput = performance.now();
  const read = (stream: ProcessStream, source: Readable) => {
    source.setEncoding('utf8');
    source.on('data', (chunk: string) => {
      lastOutput = performance.now();
      log?.write(chunk);
      streams[stream].add(chunk, onLine(stream));
      // An unfinished line (a prompt) can match too.
      if (streams[stream].rest) for (const l of lineListeners) l(streams[stream].rest);
    });
  };
  read('stdout', child.stdout!);
  read('stderr', child.stderr!);

  const exited = new Promise<number>((resolve) => {
    let code: number | undefined;
    const finish = () => {
      if (ended) return;
      ended = true;
      streams.stdout.end(onLine('stdout'));
      streams.stderr.end(onLine('stderr'));
      running.delete(handle);
      log?.end();
      resolve(code ?? 127);
      for (const l of wakeListeners) l();
    };
    child.once('exit', (c, signal) => {
      code = exitCodeOf(c, signal);
      // 'close' follows once both pipes are drained; a grandchild that holds them open is not waited for
      // once they have been silent for OUTPUT_DRAIN_MS.
      const exitedAt = performance.now();
      const check = () => {
        if (ended) return;
        const quiet = performance.now() - Math.max(lastOutput, exitedAt);
        if (quiet >= OUTPUT_DRAIN_MS) finish();
        else setTimeout(check, OUTPUT_DRAIN_MS - quiet).unref();
      };
      setTimeout(check, OUTPUT_DRAIN_MS).unref();
    });
    child.once('close', (c, signal) => {
      code ??= exitCodeOf(c, signal);
      finish();
    });
    child.once('error', (err) => {
      spawnError = err;
      // It never started: no 'exit' comes. 127 is a shell's "command not found".
      if (child.pid === undefined) finish();
    });
  });

  const output = () => streams.stdout.text + streams.stderr.text;
  const tail = (lines = 3) => output().trim().split('\n').slice(-lines).join(' | ');
  const kill = (signal: NodeJS.Signals = 'SIGTERM') => {
    if (child.pid === undefined) return;
    // A group outlives its leader while grandchildren run: it is signalled even after the leader's exit.
    if (!options.group && (ended || child.exitCode !== null || child.signalCode !== null)) return;
    try {
      if (options.group) process.kill(-child.pid, signal);
      else child.kill(signal);
    } catch {
      // gone in between
    }
  };
  const exitedError = (what: string) =>
    spawnError
      ? new ProcessWaitError(`${command} could not start: ${spawnError.message}`, 'spawn', undefined, { cause: spawnError })
      : new ProcessWaitError(`process exited with code ${exitCodeOf(child.exitCode, child.signalCode)} before ${what}:\n${output().slice(-3000)}`, 'exited', exitCodeOf(child.exitCode, child.signalCode));

  const handle: RunningProcess = {
    child,
    get pid() {
      return child.pid;
    },
    output,
    stdout: () => streams.stdout.text,
    stderr: () => streams.stderr.text,
    tail,
    exited,
    get done() {
      return ended;
    },
    kill,
    waitFor(pattern, timeoutMs = 30_000) {
      const matches = typeof pattern === 'function' ? pattern : (line: string) => pattern.test(line);
      return new Promise((resolve, reject) => {
        const done = () => {
          clearTimeout(timer);
          lineListeners.delete(onLine);
          wakeListeners.delete(onEnd);
        };
        const onLine = (line: string) => {
          if (!matches(line)) return;
          done();
          resolve(line);
        };
        const onEnd = () => {
          done();
          reject(exitedError(`printing ${String(pattern)}`));
        };
        const timer = setTimeout(() => {
          done();
          reject(new ProcessWaitError(`timed out waiting for ${String(pattern)}:\n${output().slice(-3000)}`, 'timeout'));
        }, timeoutMs);
        const printed = [...streams.stdout.text.split('\n'), ...streams.stderr.text.split('\n')].find(matches);
        if (printed !== undefined) {
          done();
          resolve(printed);
        } else if (ended) {
          onEnd();
        } else {
          lineListeners.add(onLine);
          wakeListeners.add(onEnd);
        }
      });
    },
    async waitForHttp(url, timeoutMs, signal) {
      const gone = new AbortController();
      const onEnd = () => gone.abort();
      wakeListeners.add(onEnd);
      if (ended) onEnd();
      try {
        await waitForHttp(url, timeoutMs, signal ? AbortSignal.any([signal, gone.signal]) : gone.signal);
      } catch (err) {
        if (ended) throw exitedError(`${url} was ready`);
        throw new ProcessWaitError((err as Error).message, 'timeout', undefined, { cause: err });
      } finally {
        wakeListeners.delete(onEnd);
      }
      if (ended) throw exitedError(`${url} was ready`);
    },
    async stop(signal = 'SIGTERM', killAfterMs = 20_000) {
      kill(signal);
      const timer = setTimeout(() => kill('SIGKILL'), killAfterMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
  running.add(handle);
  return handle;
}

/** Starts `netlab <args>` (this build's CLI) with the current Node. */
export function startNetlabProcess(args: readonly string[], options: ProcessOptions = {}): RunningProcess {
  return startProcess(process.execPath, [NETLAB_MAIN, ...args], options);
}
