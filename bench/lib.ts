// Shared by the bench/*.ts scripts: the build's modules, typed; start netlab processes, sample their CPU,
// read their metrics, describe the machine, and replace one section of docs/benchmarks.md.
//
// Node runs these files as they are (type stripping: erasable syntax only, `import type` for types, `.ts`
// in relative imports of bench files); `npm run typecheck` checks them with the rest of the project.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import type { ProcessOptions, RunningProcess } from '../src/core/child-process.ts';

// ---- the build ------------------------------------------------------------------------------

/**
 * The modules of the build that the benches call, each typed as its source. `build(path)` imports
 * dist/<path> (compiled by the `npm run build` that every `npm run bench:*` runs first), typed as
 * src/<path> with .ts. A static `import '../dist/x.js'` would be an untyped JavaScript module to tsc
 * (dist/ has no declarations, and a fresh clone no dist/ at all), so nothing a bench calls would be checked.
 */
interface Build {
  'core/async.js': typeof import('../src/core/async.ts');
  'core/charts.js': typeof import('../src/core/charts.ts');
  'core/child-process.js': typeof import('../src/core/child-process.ts');
  'core/embedded-postgres.js': typeof import('../src/core/embedded-postgres.ts');
  'core/latency-stats.js': typeof import('../src/core/latency-stats.ts');
  'core/net.js': typeof import('../src/core/net.ts');
  'core/proc.js': typeof import('../src/core/proc.ts');
  'tick/broker-probe.js': typeof import('../src/tick/broker-probe.ts');
  'tick/tick-stats.js': typeof import('../src/tick/tick-stats.ts');
}

export async function build<P extends keyof Build>(path: P): Promise<Build[P]> {
  return (await import(new URL(`../dist/${path}`, import.meta.url).href)) as Build[P];
}

const { startNetlabProcess, startProcess, NETLAB_MAIN } = await build('core/child-process.js');
const { cpuSeconds: processCpuSeconds } = await build('core/proc.js');
export const { sleep } = await build('core/async.js');
export const { freePort } = await build('core/net.js');
export { NETLAB_MAIN, startProcess, type RunningProcess };

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface NetlabOptions extends Pick<ProcessOptions, 'keepChars' | 'onLine'> {
  /** Added to this process's environment (after METRICS_PORT=0 and LOG_LEVEL). */
  env?: NodeJS.ProcessEnv;
  /** LOG_LEVEL warn (default) or info; a --log-level flag wins. */
  quiet?: boolean;
}

/** Starts `netlab <args>` of this build, its metrics on a free port; it is killed if this process exits first. */
export function netlab(args: readonly string[], { env = {}, quiet = true, ...options }: NetlabOptions = {}): RunningProcess {
  return startNetlabProcess(args, { ...options, env: { ...process.env, METRICS_PORT: '0', LOG_LEVEL: quiet ? 'warn' : 'info', ...env } });
}

/** user+system CPU seconds of these processes (not their children), from /proc; a process that is gone counts 0. */
export function cpuSeconds(pids: Iterable<number | undefined>): number {
  let seconds = 0;
  for (const pid of pids) if (pid !== undefined) seconds += processCpuSeconds(pid) ?? 0;
  return seconds;
}

export function pidsOf(pattern: string): number[] {
  try {
    return execFileSync('pgrep', ['-f', pattern], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export function machine(): string {
  const model = cpus()[0]?.model ?? 'unknown CPU';
  return `${cpus().length} cores (${model}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Linux, Node ${process.version}`;
}

/** The 1, 5 and 15 minute load averages, as /proc/loadavg writes them ("0.52 0.61 0.70"). */
export function loadAverage(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

/** Replaces the body of `## title` in docs/benchmarks.md (up to the next `## `). */
export function writeSection(title: string, body: string): void {
  const file = `${ROOT}/docs/benchmarks.md`;
  const text = readFileSync(file, 'utf8');
  const start = text.indexOf(`## ${title}\n`);
  if (start === -1) throw new Error(`no section "## ${title}" in docs/benchmarks.md`);
  const next = text.indexOf('\n## ', start + 4);
  const end = next === -1 ? text.length : next + 1;
  writeFileSync(file, `${text.slice(0, start)}## ${title}\n\n${body.trim()}\n\n${text.slice(end)}`.replace(/\n{3,}/g, '\n\n'));
}

export interface MachineTicks {
  busy: number;
  total: number;
}

/** Busy and total CPU time of the whole machine so far (jiffies, all cores), from /proc/stat. */
export function machineTicks(): MachineTicks {
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/);
  const [user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0] = fields.map(Number);
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idle + iowait };
}

/** Share of the machine's CPU time (all cores) that was busy between two machineTicks() samples. */
export const busyShare = (a: MachineTicks, b: MachineTicks): number => (b.busy - a.busy) / Math.max(1, b.total - a.total);

// ---- Prometheus text (a netlab process's /metrics) ------------------------------------------

export interface MetricSeries {
  /** What is between the braces (`reason="x",le="0.1"`), '' for a series without labels. */
  labels: string;
  value: number;
}

/** Every series of the metric `name` in a Prometheus text exposition, in the order written. */
export function metricSeries(text: string, name: string): MetricSeries[] {
  const series: MetricSeries[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const after = line[name.length];
    if (after !== '{' && after !== ' ') continue;
    const labels = after === '{' ? line.slice(name.length + 1, line.lastIndexOf('}')) : '';
    series.push({ labels, value: Number(line.slice(line.lastIndexOf(' ') + 1)) });
  }
  return series;
}

/** The first series' value of `name`, NaN when the text has none. */
export const metricValue = (text: string, name: string): number => metricSeries(text, name)[0]?.value ?? NaN;

/** The sum over the series of `name` whose labels contain `labels` (all of them without), 0 when none. */
export const metricSum = (text: string, name: string, labels = ''): number =>
  metricSeries(text, name)
    .filter((s) => s.labels.includes(labels))
    .reduce((sum, s) => sum + s.value, 0);

/** The text of `<url>/metrics`. */
export async function scrape(url: string): Promise<string> {
  return (await fetch(`${url}/metrics`)).text();
}
