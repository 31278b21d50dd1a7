import { cellLabel, type EchoCell, type IdleResult } from './bench-results.js';

const mib = (bytes: number) => `${(bytes / (1024 * 1024)).toFixed(1)} MB`;

/** One line per cell, in the exercise's style: `[loop] RPS: ... | p50: ... | p99: ... | RSS: ...`. */
export function cellLine(c: EchoCell, nameWidth = 15): string {
  const problems = [
    c.errorCount > 0 ? `errors: ${c.errorCount} (${Object.entries(c.errors).map(([k, v]) => `${k} ${v}`).join(', ')})` : '',
    c.mismatches > 0 ? `MISMATCHES: ${c.mismatches}` : '',
    c.generator.saturated ? `generator saturated (${Math.round(c.generator.maxCpuCores * 100)}% of a core)` : '',
  ].filter(Boolean);
  return [
    `${`[${c.target}]`.padEnd(nameWidth + 2)} ${cellLabel(c.size, c.connections).padStart(14)}`,
    `RPS: ${c.rps.toFixed(1).padStart(9)}`,
    `p50: ${String(c.latencyUs.p50).padStart(6)} µs`,
    `p99: ${String(c.latencyUs.p99).padStart(6)} µs`,
    `RSS: ${mib(c.server.peakRssBytes).padStart(8)}`,
    `CPU: ${c.server.cpuSeconds.toFixed(2)} s`,
    ...problems,
  ].join(' | ');
}

export function idleLine(idle: IdleResult): string {
  return (
    `[${idle.target}] idle connections: ${idle.opened}/${idle.requested} held | RSS ${mib(idle.rssBeforeBytes)} -> ${mib(idle.rssAfterBytes)}` +
    ` | ${(idle.rssPerConnectionBytes / 1024).toFixed(2)} KiB per connection | still serving: ${idle.stillServing ? 'yes' : 'NO'}`
  );
}
