import { constants } from 'node:os';

/**
 * Every exit code a netlab process ends with: one meaning per code, the same in every role. Codes above
 * 64 follow BSD sysexits; 128 + n is "ended by signal n", as a shell reports it. docs/operations.md has one
 * row per code and a test (test/core/exit-codes.test.ts) holds that table and this list together.
 */
export const EXIT_OK = 0;
/** A run's checks failed, an unrecoverable error, or the grace period ran out. */
export const EXIT_FAILED = 1;
/** Bad usage only: an unknown role or subcommand, a bad flag or environment value. */
export const EXIT_BAD_USAGE = 2;
/** `messenger-bench --verify` found a violation of the ordering properties. */
export const EXIT_ORDERING_VIOLATION = 3;
/** `worker`: a task's period was over 900 ms, the exercise's crash rule. */
export const EXIT_TASK_CRASH = 4;
/** sysexits EX_DATAERR: the dispatcher's store is damaged or lost. */
export const EXIT_STORE_DAMAGED = 65;
/** sysexits EX_UNAVAILABLE: a port or facility the role needs is unavailable (port in use or not permitted, no SO_REUSEPORT). */
export const EXIT_UNAVAILABLE = 69;
/** sysexits EX_TEMPFAIL: another dispatcher holds `--data`; retry once it is gone. */
export const EXIT_STORE_LOCKED = 75;
/** 128 + 2: ended by SIGINT (Ctrl-C). */
export const EXIT_SIGINT = 130;
/** 128 + 15: ended by SIGTERM. */
export const EXIT_SIGTERM = 143;

/**
 * 128 + the signal's number, as a shell reports a process ended by it (SIGINT 130, SIGTERM 143, SIGKILL 137);
 * EXIT_FAILED for a name that is no signal (a shutdown reason such as "failed").
 */
export function exitCodeForSignal(signal: NodeJS.Signals | string): number {
  const n = (constants.signals as Record<string, number | undefined>)[signal];
  return n === undefined ? EXIT_FAILED : 128 + n;
}

/** The list docs/operations.md's table is checked against: each code, its constant, and words its row must contain. */
export const EXIT_CODES = [
  { code: EXIT_OK, name: 'EXIT_OK', meaning: 'done' },
  { code: EXIT_FAILED, name: 'EXIT_FAILED', meaning: 'failed' },
  { code: EXIT_BAD_USAGE, name: 'EXIT_BAD_USAGE', meaning: 'bad usage' },
  { code: EXIT_ORDERING_VIOLATION, name: 'EXIT_ORDERING_VIOLATION', meaning: 'ordering properties' },
  { code: EXIT_TASK_CRASH, name: 'EXIT_TASK_CRASH', meaning: 'period over 900' },
  { code: EXIT_STORE_DAMAGED, name: 'EXIT_STORE_DAMAGED', meaning: 'damaged' },
  { code: EXIT_UNAVAILABLE, name: 'EXIT_UNAVAILABLE', meaning: 'unavailable' },
  { code: EXIT_STORE_LOCKED, name: 'EXIT_STORE_LOCKED', meaning: 'holds `--data`' },
  { code: EXIT_SIGINT, name: 'EXIT_SIGINT', meaning: 'SIGINT' },
  { code: EXIT_SIGTERM, name: 'EXIT_SIGTERM', meaning: 'SIGTERM' },
] as const;
