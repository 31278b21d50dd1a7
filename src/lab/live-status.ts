import { LiveRegion, type TerminalStream } from './live-region.js';
import { padToWidth } from './text-width.js';

/** How often the running experiment's clock is redrawn on a terminal. */
export const REDRAW_MS = 250;

/** What the screen says of an experiment. */
export type LineState = 'waiting' | 'running' | 'PASS' | 'FAIL' | 'SKIPPED' | 'INTERRUPTED' | 'not run';
const STATE_WIDTH = Math.max(...(['waiting', 'running', 'PASS', 'FAIL', 'SKIPPED', 'INTERRUPTED', 'not run'] as const).map((s) => s.length));
const FINAL: ReadonlySet<LineState> = new Set(['PASS', 'FAIL', 'SKIPPED', 'INTERRUPTED', 'not run']);

interface Line {
  state: LineState;
  text: string;
  started?: number;
  seconds?: number;
}

/**
 * One line per experiment. On a terminal: a live region redrawn in place, log lines printed above it,
 * the last frame left on the screen by `stop` (which may be called any number of times). Elsewhere (CI
 * logs, pipes): one plain line per change, `lab: <name>: <text>`.
 */
export class LiveStatus {
  private readonly lines = new Map<string, Line>();
  private readonly region: LiveRegion | undefined;
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly nameWidth: number;
  private stopped = false;

  constructor(
    names: readonly string[],
    private readonly out: TerminalStream & { isTTY?: boolean } = process.stdout,
    private readonly header?: string,
  ) {
    for (const n of names) this.lines.set(n, { state: 'waiting', text: '' });
    this.nameWidth = Math.max(4, ...names.map((n) => n.length));
    if (out.isTTY) {
      this.region = new LiveRegion(out);
      this.timer = setInterval(() => this.draw(), REDRAW_MS);
      this.timer.unref();
      this.draw();
    }
  }

  get isLive(): boolean {
    return this.region !== undefined && !this.stopped;
  }

  /** Drawn on a terminal (its last frame is on the screen after `stop`). */
  get wasLive(): boolean {
    return this.region !== undefined;
  }

  begin(name: string): void {
    this.update(name, { state: 'running', text: 'starting', started: Date.now() });
  }

  /** Progress of a running experiment. */
  set(name: string, text: string): void {
    this.update(name, { text });
  }

  /** Its outcome: the line keeps it and its duration. */
  finish(name: string, state: LineState, text: string, seconds?: number): void {
    this.update(name, { state, text, seconds });
  }

  /** Prints text above the live lines (or just prints it when there are none). */
  log(text: string): void {
    if (this.region) this.region.log(text);
    else this.out.write(text.endsWith('\n') ? text : `${text}\n`);
  }

  /** The final frame stays on the screen; idempotent. */
  stop(): void {
    if (this.stopped) return;
    for (const line of this.lines.values()) if (!FINAL.has(line.state)) Object.assign(line, { state: line.state === 'running' ? 'INTERRUPTED' : 'not run', text: line.state === 'running' ? line.text : '' });
    this.draw();
    this.stopped = true;
    clearInterval(this.timer);
    this.region?.stop();
  }

  /** The lines as they are drawn (without the cut to the terminal's width). */
  frame(now = Date.now()): string[] {
    const rows = [...this.lines].map(([name, l]) => {
      const seconds = l.seconds ?? (l.started !== undefined && l.state === 'running' ? (now - l.started) / 1000 : undefined);
      const clock = seconds !== undefined ? `${seconds.toFixed(0).padStart(3)} s  ` : '       ';
      return `${padToWidth(name, this.nameWidth)}  ${padToWidth(l.state, STATE_WIDTH)}  ${clock}${l.text}`.trimEnd();
    });
    return this.header ? [this.header, ...rows] : rows;
  }

  private update(name: string, change: Partial<Line>): void {
    if (this.stopped) return;
    const line = this.lines.get(name);
    if (!line) return;
    Object.assign(line, change);
    if (this.region) this.draw();
    else this.out.write(`lab: ${name}: ${FINAL.has(line.state) ? `${line.state} ${line.text}` : line.text}\n`);
  }

  private draw(): void {
    if (!this.stopped) this.region?.render(this.frame());
  }
}
