import { messengerExperiment } from '../messenger/lab.js';
import type { Experiment } from './experiment.js';
import { reportingExperiment } from './reporting-experiment.js';

/**
 * Every experiment the lab knows, in the order it runs them, with the sizes of a default run
 * (about 3 minutes in all on 2 cores) and of a --quick one (under a minute).
 */
export const EXPERIMENTS: Experiment[] = [
  messengerExperiment,
  reportingExperiment('pingpong', 'Ping-pong: protocol, pairing and logs', ({ quick, dir }) => [
    'pingpong',
    '--clients', '2',
    // --duration is scaled by --time-scale: 5m x 0.05 = 15 s of real time, 5 minutes of protocol time.
    '--duration', quick ? '2m' : '5m',
    '--time-scale', quick ? '0.05' : '0.1',
    '--port', '0',
    '--dir', dir,
  ]),
  reportingExperiment('echo', 'Echo: concurrency models under closed-loop load', ({ quick, dir }) => [
    'echo-bench',
    // Two generator processes, not the bench's default of one per two cores: the lab checks that the
    // generator is not the limit, and one generator can be saturated by the faster models here.
    '--generators', '2',
    '--sizes', quick ? '64' : '64,16384',
    '--connections', quick ? '50' : '1,50',
    '--duration', quick ? '1s' : '3s',
    '--out', dir,
  ]),
  reportingExperiment('tick', 'Tick: 10 ms ticks over NATS and RabbitMQ', ({ quick, dir }) => [
    'tick-lab',
    '--duration', quick ? '4s' : '15s',
    '--out-dir', dir,
  ]),
  reportingExperiment('dispatch', 'Dispatcher: leases, retries, dead letters, crashes', ({ quick }) => [
    'dispatch-lab',
    '--workers', quick ? '10' : '50',
    '--duration', quick ? '15s' : '40s',
    '--time-scale', quick ? '0.05' : '0.2',
  ]),
];
