import type { EventLog } from '../../src/pingpong/log-file.js';
import type { DropReason, Peer } from '../../src/pingpong/server-core.js';

/** An in-memory event log. */
export class MemoryLog implements EventLog {
  lines: string[] = [];
  append(line: string): void {
    this.lines.push(line);
  }
  close(): void {}
}

/** A connection as the server's protocol state sees it: records what it was sent. */
export class FakePeer implements Peer {
  sent: string[] = [];
  paused = false;
  closedFor: DropReason | undefined;
  /** When set, the peer refuses further bytes (a client that stopped reading). */
  full = false;

  reserve(): boolean {
    return this.closedFor === undefined && !this.full;
  }
  write(data: string | Buffer): void {
    this.sent.push(String(data).replace(/\n$/, ''));
  }
  pauseReading(): void {
    this.paused = true;
  }
  resumeReading(): void {
    this.paused = false;
  }
  close(reason: DropReason): void {
    this.closedFor = reason;
  }
}

/** A Random that plays back fixed values (then repeats the last). */
export const scripted = (...values: number[]) => {
  let i = 0;
  return () => values[Math.min(i++, values.length - 1)]!;
};
