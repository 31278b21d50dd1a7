/**
 * Wall-clock milliseconds with sub-millisecond resolution and no backward steps within a process:
 * the monotonic clock anchored at the process's start time. Processes on one machine agree on it to
 * well under a millisecond over a run, so one process's send time and another's arrival time can
 * be compared (keepalive lag in the benchmark).
 */
export const epochNow = (): number => performance.timeOrigin + performance.now();

export type Clock = () => number;
