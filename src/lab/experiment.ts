import type { ExperimentReport } from '../core/experiment-report.js';
import type { Logger } from '../core/logger.js';
import type { ChildSet } from './child-processes.js';

export const EXPERIMENT_NAMES = ['messenger', 'pingpong', 'echo', 'tick', 'dispatch'] as const;
export type ExperimentName = (typeof EXPERIMENT_NAMES)[number];

export interface ExperimentContext {
  quick: boolean;
  /** This experiment's own folder inside the lab's output directory. */
  dir: string;
  children: ChildSet;
  logger: Logger;
  signal: AbortSignal;
  /** Free-form progress for the live display. */
  progress(text: string): void;
}

export interface Experiment {
  name: ExperimentName;
  title: string;
  run(ctx: ExperimentContext): Promise<ExperimentReport>;
}
