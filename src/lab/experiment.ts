import type { Experiment as ExperimentContract } from '../core/experiment.js';

export const EXPERIMENT_NAMES = ['messenger', 'pingpong', 'echo', 'tick', 'dispatch'] as const;
export type ExperimentName = (typeof EXPERIMENT_NAMES)[number];

/** One of the lab's experiments (the contract is core's, so a capability can implement it). */
export type Experiment = ExperimentContract<ExperimentName>;
