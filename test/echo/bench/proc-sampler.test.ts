import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { cpuSeconds, machineCpu, processTree, ResourceSampler, rssBytes } from '../../../src/echo/bench/proc-sampler.js';

/** A parent process with one child that burns CPU and holds 40 MB: the cluster model's shape. */
const BUSY_FAMILY = `
  const { spawn } = require('node:child_process');
  spawn(process.execPath, ['-e', 'const h = Buffer.alloc(40 * 1024 * 1024, 1); const e = Date.now() + 4000; while (Date.now() < e) h[(Math.random() * h.length) | 0]++;'], { stdio: 'ignore' });
  setTimeout(() => {}, 4000);`;

describe('/proc sampling', () => {
  it('reads CPU seconds and RSS of a live process, nothing for a gone one', () => {
    expect(cpuSeconds(process.pid)).toBeGreaterThan(0);
    expect(rssBytes(process.pid)).toBeGreaterThan(10 * 1024 * 1024);
    expect(cpuSeconds(2 ** 22 + 12345)).toBeUndefined();
    expect(rssBytes(2 ** 22 + 12345)).toBeUndefined();
    const m = machineCpu();
    expect(m.total).toBeGreaterThan(m.busy);
  });

  it('follows children and counts their CPU and memory from outside', async () => {
    const parent = spawn(process.execPath, ['-e', BUSY_FAMILY], { stdio: 'ignore' });
    try {
      let tree: number[] = [];
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline && (tree = processTree(parent.pid!)).length < 2) await new Promise((r) => setTimeout(r, 50));
      expect(tree).toHaveLength(2);
      await new Promise((r) => setTimeout(r, 300));
      const sampler = new ResourceSampler(parent.pid!);
      sampler.start();
      await new Promise((r) => setTimeout(r, 600));
      const usage = sampler.stop();
      expect(usage.processes).toBe(2);
      expect(usage.cpuSeconds).toBeGreaterThan(0.1);
      expect(usage.peakRssBytes).toBeGreaterThan(40 * 1024 * 1024);
      expect(usage.machineBusy).toBeGreaterThan(0);
    } finally {
      for (const pid of processTree(parent.pid!).reverse()) process.kill(pid, 'SIGKILL');
    }
  });
});
