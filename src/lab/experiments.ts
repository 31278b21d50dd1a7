import type { Experiment } from './experiment.js';
import { messengerExperiment } from './messenger-experiment.js';

/** Every experiment the lab knows, in the order it runs them. */
export const EXPERIMENTS: Experiment[] = [messengerExperiment];
