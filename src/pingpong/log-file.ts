import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/** Where completed events go: a file, or nowhere (`--log ''`, or a load client's many connections). */
export interface EventLog {
  append(line: string): void;
  close(): void;
  /** True when lines are thrown away (NO_LOG): callers may skip formatting them. */
  readonly discards?: boolean;
}

/**
 * An event log file. Each run starts it fresh; each line is written with one synchronous append,
 * so a line is in the file (the OS's page cache) the moment its event completes, and a crash or a
 * kill loses nothing that was logged. The cost is a system call per line, which a benchmark of
 * 10,000 clients shows to be affordable.
 */
export class LogFile implements EventLog {
  private fd: number | undefined;

  /**
   * `append`: add to the file as it is (O_APPEND) instead of starting it fresh: the threads of one
   * server each hold the file open so, and every line is one write, so lines never mix.
   */
  constructor(
    readonly path: string,
    { append = false }: { append?: boolean } = {},
  ) {
    mkdirSync(dirname(path), { recursive: true });
    this.fd = openSync(path, append ? 'a' : 'w');
  }

  append(line: string): void {
    if (this.fd === undefined) return;
    writeSync(this.fd, line + '\n');
  }

  close(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
  }
}

export const NO_LOG: EventLog = { append() {}, close() {}, discards: true };

export const openEventLog = (path: string): EventLog => (path === '' ? NO_LOG : new LogFile(path));
