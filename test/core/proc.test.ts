import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';
import { createRegistry } from '../../src/core/metrics.js';
import { cpuSeconds, processTree, rssBytes } from '../../src/core/proc.js';

describe.skipIf(process.platform !== 'linux')('process tree from /proc', () => {
  it('counts the CPU and memory of child processes in netlab_process_tree_*', async () => {
    // A child that spends 0.4 s of CPU, says so, then waits.
    const child = spawn(process.execPath, ['-e', "const t=process.cpuUsage();while((process.cpuUsage(t).user+process.cpuUsage(t).system)<4e5);console.log('burnt');setInterval(()=>{},1000)"], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      child.stdout.setEncoding('utf8');
      await once(child.stdout, 'data');
      expect(processTree(process.pid)).toContain(child.pid);
      expect(cpuSeconds(child.pid!)!).toBeGreaterThanOrEqual(0.35);
      expect(rssBytes(child.pid!)!).toBeGreaterThan(10 * 1024 * 1024);
      const registry = createRegistry('test');
      const value = async (name: string) => (await registry.getSingleMetric(name)!.get()).values[0]!.value;
      const self = await value('netlab_process_cpu_seconds_total');
      const tree = await value('netlab_process_tree_cpu_seconds_total');
      expect(tree - self).toBeGreaterThanOrEqual(0.3);
      expect(await value('netlab_process_tree_resident_memory_bytes')).toBeGreaterThan(await value('netlab_process_resident_memory_bytes'));
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('reads a process that is gone as undefined, not an error', () => {
    expect(cpuSeconds(2 ** 22 + 1)).toBeUndefined();
    expect(rssBytes(2 ** 22 + 1)).toBeUndefined();
  });
});
