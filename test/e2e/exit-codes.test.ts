import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EXIT_BAD_USAGE, EXIT_FAILED } from '../../src/core/exit-codes.js';
import { startNetlabPerTest } from '../helpers/netlab-process.js';

const netlab = startNetlabPerTest();

describe('netlab <unknown role>', () => {
  it('prints one line naming NETLAB_ERR_UNKNOWN_ROLE and exits 2', async () => {
    const p = netlab(['nope']);
    expect(await p.exited).toBe(EXIT_BAD_USAGE);
    expect(p.stderr()).toBe('netlab: unknown role "nope" (try netlab --help) [NETLAB_ERR_UNKNOWN_ROLE]\n');
    expect(p.stdout()).toBe('');
  });
});

describe('a run whose checks fail', () => {
  it('pingpong exits 1 (EXIT_FAILED), as every run with checks does', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'netlab-exit-'));
    try {
      // PINGs 72 s apart (1 h x 0.02) in a 1.2 s run: no request at all, so "ignore ratio plausible" fails.
      const p = netlab(['pingpong', '--clients', '1', '--duration', '1m', '--time-scale', '0.02', '--dir', dir, '--port', '0', '--seed', '3', '--interval-min', '1h', '--interval-max', '1h']);
      expect(await p.exited, p.output().slice(-2000)).toBe(EXIT_FAILED);
      expect(p.stdout()).toContain('FAIL ignore ratio plausible: 0/0');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
