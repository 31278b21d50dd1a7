import type { RunningProcess } from './child-process.js';
import type { ExperimentReport } from './experiment-report.js';
import type { Logger } from './logger.js';

/**
 * An experiment as `netlab lab` runs it in its own process: given a folder and a way to start
 * `netlab` processes, it returns its ExperimentReport. Most experiments are one orchestrating role
 * started with `--report` (src/lab/reporting-experiment.ts); one that starts the processes itself
 * (the messenger's, src/messenger/lab.ts) implements this, so it needs nothing from src/lab.
 */
export interface Experiment<Name extends string = string> {
  name: Name;
  title: string;
  run(ctx: ExperimentContext): Promise<ExperimentReport>;
}

export interface ExperimentContext {
  quick: boolean;
  /** This experiment's own folder inside the lab's output directory. */
  dir: string;
  children: ExperimentChildren;
  logger: Logger;
  signal: AbortSignal;
  /** Free-form progress for the live display. */
  progress(text: string): void;
}

/** Every process an experiment starts goes through here, so that the lab can stop all of them. */
export interface ExperimentChildren {
  /** Starts `netlab <args>`; its stdout and stderr go to `logFile`. */
  start(name: string, args: string[], options: { env?: NodeJS.ProcessEnv; logFile: string }): ExperimentChild;
  /** A process started some other way (the embedded PostgreSQL): stopped with the children, after them. */
  adopt(pid: number | undefined, stop: () => Promise<void>): void;
}

export interface ExperimentChild extends RunningProcess {
  name: string;
}
