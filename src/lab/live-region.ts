import { cutToWidth, displayWidth } from './text-width.js';

/** What a live region writes to: a terminal stream (process.stdout), or a fake one in tests. */
export interface TerminalStream {
  write(text: string): boolean;
  columns?: number;
  rows?: number;
  on?(event: 'resize', listener: () => void): unknown;
  off?(event: 'resize', listener: () => void): unknown;
}

/** Assumed when the stream does not know its size (a pseudo-terminal that was never sized). */
export const DEFAULT_COLUMNS = 80;
export const DEFAULT_ROWS = 24;

/**
 * A block of lines at the bottom of a terminal, redrawn in place (sindresorhus/log-update is the model):
 * - a redraw clears and moves up exactly the rows it drew last time, then draws from there;
 * - every line is cut to the terminal's width (display columns, not string length), so no line wraps
 *   and the count stays exact; the frame keeps to the terminal's height less one row;
 * - `log` prints text above the region, then draws the region again under it;
 * - `stop` leaves the last frame on the screen and is idempotent; text written after it goes below.
 */
export class LiveRegion {
  private frame: string[] = [];
  /** Display widths of the lines drawn last, to count their rows again after a resize. */
  private drawnWidths: number[] = [];
  private stopped = false;
  private readonly onResize = () => this.redraw();

  constructor(private readonly out: TerminalStream) {
    out.on?.('resize', this.onResize);
  }

  get columns(): number {
    return this.out.columns || DEFAULT_COLUMNS;
  }

  render(lines: string[]): void {
    if (this.stopped) return;
    this.frame = lines;
    this.redraw();
  }

  /** Prints `text` (one or more lines) above the region. */
  log(text: string): void {
    const block = text.endsWith('\n') ? text : `${text}\n`;
    if (this.stopped) {
      this.out.write(block);
      return;
    }
    this.out.write(this.erase() + block + this.draw());
  }

  /** Leaves the last frame where it is; later output goes below it. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.out.off?.('resize', this.onResize);
    this.drawnWidths = [];
  }

  private redraw(): void {
    if (this.stopped) return;
    this.out.write(this.erase() + this.draw());
  }

  /**
   * Back to the region's first row, clearing each row on the way up (as log-update does: a clear to the
   * end of the screen from its top corner would push the screen into some terminals' scrollback).
   */
  private erase(): string {
    const columns = this.columns;
    // A line drawn at the old width may take more rows now, if the terminal narrowed and rewrapped it.
    const rows = this.drawnWidths.reduce((sum, w) => sum + Math.max(1, Math.ceil(w / columns)), 0);
    this.drawnWidths = [];
    if (rows === 0) return '';
    // The cursor is on the row below the region: clear it, then each row of the region going up.
    return `${'\x1b[2K\x1b[1A'.repeat(rows)}\x1b[2K\x1b[G`;
  }

  private draw(): string {
    const columns = this.columns;
    const rows = Math.max(1, (this.out.rows || DEFAULT_ROWS) - 1);
    const lines = this.frame.slice(-rows).map((l) => cutToWidth(l, columns));
    this.drawnWidths = lines.map((l) => displayWidth(l));
    return lines.map((l) => `${l}\n`).join('');
  }
}
