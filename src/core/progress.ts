/** A one-line progress bar on a TTY (stderr); silent otherwise, so logs and pipes stay clean. */
export class ProgressBar {
  private readonly enabled: boolean;
  private last = 0;
  private readonly started = performance.now();

  constructor(
    private readonly total: number,
    private readonly label: string,
    private readonly stream: NodeJS.WriteStream = process.stderr,
  ) {
    this.enabled = Boolean(stream.isTTY);
  }

  update(done: number, extra = ''): void {
    if (!this.enabled) return;
    const now = performance.now();
    if (now - this.last < 100 && done < this.total) return;
    this.last = now;
    const width = 30;
    const filled = Math.round((done / Math.max(this.total, 1)) * width);
    const rate = done / Math.max((now - this.started) / 1000, 0.001);
    this.stream.write(`\r${this.label} [${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${done}/${this.total} ${rate.toFixed(0)}/s ${extra}\x1b[K`);
  }

  finish(): void {
    if (this.enabled) this.stream.write('\n');
  }
}
