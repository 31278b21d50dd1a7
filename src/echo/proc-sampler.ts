import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

/** How often the sampler reads the server's RSS during a measurement. */
export const RSS_SAMPLE_MS = 100;

let clockTicks: number | undefined;
/** Kernel clock ticks per second (the unit of utime/stime in /proc/<pid>/stat); 100 on Linux nearly always. */
export function clockTicksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined; // the process (or thread) is gone: it simply stops counting
  }
}

/** The fields of /proc/<pid>/stat after the command name (which may hold spaces and parentheses). */
function statFields(pid: number): string[] | undefined {
  const text = read(`/proc/${pid}/stat`);
  if (!text) return undefined;
  return text.slice(text.lastIndexOf(')') + 2).split(' ');
}

/** User + system CPU seconds of the process (all its threads). */
export function cpuSeconds(pid: number): number | undefined {
  const f = statFields(pid);
  // After the name: state(3) ppid(4) ... utime(14) stime(15), numbered as in proc(5).
  return f ? (Number(f[14 - 3]) + Number(f[15 - 3])) / clockTicksPerSecond() : undefined;
}

/** Resident set size in bytes (VmRSS), or undefined when the process is gone. */
export function rssBytes(pid: number): number | undefined {
  const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(read(`/proc/${pid}/status`) ?? '');
  return match ? Number(match[1]) * 1024 : undefined;
}

/** `pid` and all its descendants (cluster workers), read from /proc/<pid>/task/<tid>/children. */
export function processTree(pid: number): number[] {
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const p = queue.shift()!;
    if (out.includes(p)) continue;
    out.push(p);
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      continue;
    }
    for (const tid of tasks) {
      const children = read(`/proc/${p}/task/${tid}/children`);
      if (children) queue.push(...children.trim().split(/\s+/).filter(Boolean).map(Number));
    }
  }
  return out;
}

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
