// Shared by the bench/*.mjs scripts: start netlab processes, sample their CPU, describe the machine,
// and replace one section of docs/benchmarks.md.
import { spawn, execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const CLK_TCK = 100;

export function netlab(args, { env = {}, quiet = true } = {}) {
  const child = spawn(process.execPath, [MAIN, ...args], {
    env: { ...process.env, METRICS_PORT: '0', LOG_LEVEL: quiet ? 'warn' : 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (c) => (out += c));
  child.stderr.on('data', (c) => (out += c));
  child.done = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  child.output = () => out;
  return child;
}

export async function waitHttp(url, timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${url} not ready`);
}

/** user+system CPU seconds of a process and its descendants, from /proc. */
export function cpuSeconds(pids) {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {}
  }
  return ticks / CLK_TCK;
}

export function pidsOf(pattern) {
  try {
    return execFileSync('pgrep', ['-f', pattern], { encoding: 'utf8' }).trim().split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export function machine() {
  const model = cpus()[0]?.model ?? 'unknown CPU';
  return `${cpus().length} cores (${model}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, Linux, Node ${process.version}`;
}

export function loadAverage() {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

/** Replaces the body of `## title` in docs/benchmarks.md (up to the next `## `). */
export function writeSection(title, body) {
  const file = `${ROOT}/docs/benchmarks.md`;
  const text = readFileSync(file, 'utf8');
  const start = text.indexOf(`## ${title}\n`);
  if (start === -1) throw new Error(`no section "## ${title}" in docs/benchmarks.md`);
  const next = text.indexOf('\n## ', start + 4);
  const end = next === -1 ? text.length : next + 1;
  writeFileSync(file, `${text.slice(0, start)}## ${title}\n\n${body.trim()}\n\n${text.slice(end)}`.replace(/\n{3,}/g, '\n\n'));
}

/** Busy and total CPU time of the whole machine so far (jiffies, all cores), from /proc/stat. */
export function machineTicks() {
  const [, ...fields] = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/);
  const [user, nice, system, idle, iowait, irq, softirq, steal] = fields.map(Number);
  const busy = user + nice + system + irq + softirq + steal;
  return { busy, total: busy + idle + iowait };
}

/** Share of the machine's CPU time (all cores) that was busy between two machineTicks() samples. */
export const busyShare = (a, b) => (b.busy - a.busy) / Math.max(1, b.total - a.total);
