import { clockTicksPerSecond, cpuSeconds, processTree, readProc as read, rssBytes } from '../../core/proc.js';

/** How often the sampler reads the server's RSS during a measurement. */
export const RSS_SAMPLE_MS = 100;

export { clockTicksPerSecond, cpuSeconds, processTree, rssBytes };

/** Busy and total jiffies of the whole machine (first line of /proc/stat). */
export function machineCpu(): { busy: number; total: number } {
  const line = (read('/proc/stat') ?? '').split('\n')[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal (guest time is already inside user)
  const total = v.slice(0, 8).reduce((a, b) => a + (b || 0), 0);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  return { busy: total - idle, total };
}

export interface ResourceUsage {
  /** CPU seconds the process tree used between start() and stop(). */
  cpuSeconds: number;
  /** Highest sampled sum of RSS over the tree. */
  peakRssBytes: number;
  processes: number;
  /** Share of all cores busy on the machine in the window (every process, not just the server). */
  machineBusy: number;
}

/**
 * Watches a server from outside: CPU from /proc/<pid>/stat at the window's ends, RSS sampled every
 * RSS_SAMPLE_MS, for the process and its children (cluster workers).
 */
export class ResourceSampler {
  private startCpu = new Map<number, number>();
  /** Last CPU reading per process, so one that exits mid-window still counts up to its last sample. */
  private lastCpu = new Map<number, number>();
  private peak = 0;
  private pids = new Set<number>();
  private timer: NodeJS.Timeout | undefined;
  private machineStart = machineCpu();

  constructor(private readonly rootPid: number) {}

  start(): void {
    this.peak = 0;
    this.pids.clear();
    this.startCpu.clear();
    this.lastCpu.clear();
    for (const pid of processTree(this.rootPid)) {
      this.pids.add(pid);
      this.startCpu.set(pid, cpuSeconds(pid) ?? 0);
    }
    this.machineStart = machineCpu();
    this.sample();
    this.timer = setInterval(() => this.sample(), RSS_SAMPLE_MS);
  }

  stop(): ResourceUsage {
    clearInterval(this.timer);
    this.sample();
    let cpu = 0;
    for (const pid of this.pids) cpu += Math.max(0, (cpuSeconds(pid) ?? this.lastCpu.get(pid) ?? 0) - (this.startCpu.get(pid) ?? 0));
    const end = machineCpu();
    const total = end.total - this.machineStart.total;
    return { cpuSeconds: cpu, peakRssBytes: this.peak, processes: this.pids.size, machineBusy: total > 0 ? (end.busy - this.machineStart.busy) / total : 0 };
  }

  private sample(): void {
    let sum = 0;
    for (const pid of processTree(this.rootPid)) {
      if (!this.pids.has(pid)) {
        this.pids.add(pid);
        this.startCpu.set(pid, cpuSeconds(pid) ?? 0);
      }
      sum += rssBytes(pid) ?? 0;
      const cpu = cpuSeconds(pid);
      if (cpu !== undefined) this.lastCpu.set(pid, cpu);
    }
    this.peak = Math.max(this.peak, sum);
  }
}
