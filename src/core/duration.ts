const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;
export type DurationUnit = keyof typeof UNIT_MS;

/**
 * Parses "250ms", "10s", "1.5m", "2h" into milliseconds. A bare number is read in `bareUnit`,
 * so `--timeout 2000` (ms) and `--grace 10` (s) both mean what their defaults suggest.
 * Returns undefined for anything else.
 */
export function parseDuration(text: string, bareUnit: DurationUnit): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text);
  if (!match) return undefined;
  const unit = (match[2] ?? bareUnit) as DurationUnit;
  return Number(match[1]) * UNIT_MS[unit];
}

export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0 && ms > 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
