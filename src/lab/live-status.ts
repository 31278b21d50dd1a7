/**
 * Progress per experiment: redrawn in place on a TTY, plain lines otherwise (CI logs, pipes).
 */
export class LiveStatus {
  private readonly lines = new Map<string, string>();
  private drawn = 0;
  private readonly tty: boolean;
  private timer: NodeJS.Timeout | undefined;
  private readonly started = new Map<string, number>();

  constructor(
    names: readonly string[],
    private readonly out: NodeJS.WriteStream = process.stdout,
  ) {
    this.tty = Boolean(out.isTTY);
    for (const n of names) this.lines.set(n, 'waiting');
    if (this.tty) this.timer = setInterval(() => this.draw(), 250);
  }

  begin(name: string): void {
    this.started.set(name, Date.now());
    this.set(name, 'starting');
  }

  set(name: string, text: string): void {
    this.lines.set(name, text);
    if (!this.tty) this.out.write(`lab: ${name}: ${text}\n`);
  }

  private draw(): void {
    if (this.drawn > 0) this.out.write(`\x1b[${this.drawn}A`);
    const width = Math.max(...[...this.lines.keys()].map((k) => k.length));
    for (const [name, text] of this.lines) {
      const since = this.started.get(name);
      const running = since !== undefined && !/^(PASS|FAIL)/.test(text);
      const clock = running ? ` (${((Date.now() - since) / 1000).toFixed(0)} s)` : '';
      this.out.write(`\x1b[2K${name.padEnd(width)}  ${text}${clock}\n`);
    }
    this.drawn = this.lines.size;
  }

  stop(): void {
    clearInterval(this.timer);
    if (this.tty) this.draw();
  }
}
