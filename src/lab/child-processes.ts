import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The netlab CLI itself: the lab runs every role as a separate process of it. */
export const NETLAB_MAIN = fileURLToPath(new URL('../main.js', import.meta.url));
/** How long children get to exit after SIGTERM before SIGKILL. */
export const CHILD_STOP_MS = 10_000;

export interface Child {
  name: string;
  process: ChildProcess;
  exited: Promise<number>;
  output(): string;
  stop(signal?: NodeJS.Signals): Promise<number>;
}

/** Every process the lab starts, so that none outlives it. */
export class ChildSet {
  private readonly children: Child[] = [];
  private readonly adopted: (() => Promise<void>)[] = [];
  readonly pids: number[] = [];

  /** A process started some other way (the embedded PostgreSQL): stopped with the children, after them. */
  adopt(pid: number | undefined, stop: () => Promise<void>): void {
    if (pid) this.pids.push(pid);
    this.adopted.push(stop);
  }

  /** Starts `netlab <args>`; its stdout and stderr go to `logFile` and are kept for inspection. */
  start(name: string, args: string[], options: { env?: NodeJS.ProcessEnv; logFile: string }): Child {
    const proc = spawn(process.execPath, [NETLAB_MAIN, ...args], {
      env: { ...process.env, METRICS_PORT: '0', ...options.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    if (proc.pid) this.pids.push(proc.pid);
    const log = createWriteStream(options.logFile);
    let out = '';
    const keep = (chunk: Buffer) => {
      out = (out + chunk.toString()).slice(-200_000);
      log.write(chunk);
    };
    proc.stdout!.on('data', keep);
    proc.stderr!.on('data', keep);
    const exited = new Promise<number>((resolve) => {
      proc.once('exit', (code, signal) => {
        log.end();
        resolve(code ?? (signal === 'SIGKILL' ? 137 : 143));
      });
    });
    const child: Child = {
      name,
      process: proc,
      exited,
      output: () => out,
      async stop(signal = 'SIGTERM') {
        if (proc.exitCode === null && proc.signalCode === null) proc.kill(signal);
        const timer = setTimeout(() => proc.kill('SIGKILL'), CHILD_STOP_MS);
        const code = await exited;
        clearTimeout(timer);
        return code;
      },
    };
    this.children.push(child);
    return child;
  }

  /** SIGTERM to every child still running, SIGKILL after CHILD_STOP_MS. */
  async stopAll(): Promise<void> {
    await Promise.all(this.children.map((c) => c.stop()));
    for (const stop of this.adopted.splice(0)) await stop();
  }
}
