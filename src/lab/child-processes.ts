import { startNetlabProcess, type RunningProcess } from '../core/child-process.js';

/** How long children get to exit after SIGTERM before SIGKILL. */
export const CHILD_STOP_MS = 10_000;
/** Output of each stream a child keeps for inspection (all of it goes to its log file). */
const KEPT_OUTPUT_CHARS = 200_000;

export interface Child extends RunningProcess {
  name: string;
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
    const proc = startNetlabProcess(args, { env: { ...process.env, METRICS_PORT: '0', ...options.env }, logFile: options.logFile, keepChars: KEPT_OUTPUT_CHARS });
    if (proc.pid) this.pids.push(proc.pid);
    const stop = proc.stop;
    const child: Child = Object.assign(proc, { name, stop: (signal: NodeJS.Signals = 'SIGTERM', killAfterMs = CHILD_STOP_MS) => stop(signal, killAfterMs) });
    this.children.push(child);
    return child;
  }

  /** SIGTERM to every child still running, SIGKILL after CHILD_STOP_MS. */
  async stopAll(): Promise<void> {
    await Promise.all(this.children.map((c) => c.stop()));
    for (const stop of this.adopted.splice(0)) await stop();
  }
}
