/**
 * Group commit: requests that arrive while a write is in flight wait and go out together in the
 * next one. The ordering lock in the database is then taken once per group, not once per message.
 */
export interface BatcherOptions<In, Out> {
  maxBatch: number;
  /** How many groups may be in flight at once. */
  concurrency: number;
  write(items: In[]): Promise<Out[]>;
  onBatch?(size: number, seconds: number): void;
}

interface Pending<In, Out> {
  item: In;
  resolve(value: Out): void;
  reject(err: unknown): void;
}

export class WriteBatcher<In, Out> {
  private queue: Pending<In, Out>[] = [];
  private inFlight = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(private readonly options: BatcherOptions<In, Out>) {}

  submit(item: In): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      this.pump();
    });
  }

  get pending(): number {
    return this.queue.length + this.inFlight;
  }

  /** Resolves when nothing is queued or in flight (used by graceful shutdown). */
  drained(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private pump(): void {
    while (this.inFlight < this.options.concurrency && this.queue.length > 0) {
      const group = this.queue.splice(0, this.options.maxBatch);
      this.inFlight++;
      void this.run(group);
    }
  }

  private async run(group: Pending<In, Out>[]): Promise<void> {
    const started = performance.now();
    try {
      const results = await this.options.write(group.map((p) => p.item));
      this.options.onBatch?.(group.length, (performance.now() - started) / 1000);
      group.forEach((p, i) => p.resolve(results[i]!));
    } catch (err) {
      for (const p of group) p.reject(err);
    } finally {
      this.inFlight--;
      this.pump();
      if (this.pending === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    }
  }
}
