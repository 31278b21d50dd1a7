import { existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startNetlab } from '../helpers/netlab-process.js';
import { findChromium, inspectPage, REQUIRE_CHROMIUM } from '../lab/chromium.js';

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const dirs: string[] = [];
async function workDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'netlab-lab-'));
  await chmod(dir, 0o755); // the embedded PostgreSQL runs as user postgres when tests run as root
  dirs.push(dir);
  return dir;
}
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

// DATABASE_URL is removed so the lab starts (and must stop) its own embedded PostgreSQL.
const env = { DATABASE_URL: '' };

describe('netlab lab', () => {
  it('--quick runs the experiments, passes its checks, writes the report and leaves no process behind', async () => {
    const cwd = await workDir();
    const out = join(cwd, 'results');
    const lab = startNetlab(['lab', '--quick', '--out', out], env, cwd);
    const code = await lab.exited;
    expect(code, lab.output()).toBe(0);
    const summary = JSON.parse(await readFile(join(out, 'lab.json'), 'utf8')) as { passed: boolean; pids: number[]; experiments: { experiment: string; checks: { pass: boolean }[] }[] };
    expect(summary.passed).toBe(true);
    expect(summary.experiments.map((e) => e.experiment)).toContain('messenger');
    for (const e of summary.experiments) expect(e.checks.length).toBeGreaterThan(0);
    expect(summary.pids.length).toBeGreaterThan(2);
    expect(summary.pids.filter(alive)).toEqual([]);
    expect(existsSync(join(cwd, '.netlab/pg/postmaster.pid'))).toBe(false);
    const html = await readFile(join(out, 'report.html'), 'utf8');
    expect(html).toContain('<img src="messenger/charts/');
    expect(html).toMatch(/messenger[\s\S]*PASS/);
    expect(lab.stdout()).toMatch(/^messenger\s+PASS/m);
    expect(lab.stdout()).toMatch(/^report: results\/report\.html$/m);
    // Read the way a reader's browser shows it: every image decodes, every chart has points, links are relative.
    const chromium = findChromium();
    if (!chromium && !REQUIRE_CHROMIUM) return console.warn('skipped the Chromium check of report.html: no chromium (NETLAB_REQUIRE_CHROMIUM=1 fails instead)');
    expect(chromium, 'NETLAB_REQUIRE_CHROMIUM=1 but no chromium found').toBeDefined();
    const page = await inspectPage(chromium!, join(out, 'report.html'));
    expect(page.images.length).toBeGreaterThan(5);
    expect(page.images.filter((i) => i.naturalWidth === 0).map((i) => i.src)).toEqual([]);
    expect(page.chartPoints.length).toBeGreaterThan(4);
    expect(page.chartPoints.filter((n) => n === 0)).toEqual([]);
    for (const href of page.links) expect(href).not.toMatch(/^(\/|[a-z]+:)/i);
  }, 240_000);

  it('stops everything it started on Ctrl-C (SIGINT)', async () => {
    const cwd = await workDir();
    const out = join(cwd, 'results');
    const lab = startNetlab(['lab', '--only', 'messenger', '--out', out], env, cwd);
    await lab.waitFor(/messenger: bench/, 60_000);
    const code = await lab.stop('SIGINT');
    // docs/operations.md: an interrupted lab exits 130 once it has stopped everything and written its report.
    expect(code, lab.output()).toBe(130);
    const summary = JSON.parse(await readFile(join(out, 'lab.json'), 'utf8')) as { pids: number[]; interrupted: boolean; results: { experiment: string; status: string }[] };
    expect(summary.pids.length).toBeGreaterThan(0);
    expect(summary.interrupted).toBe(true);
    expect(summary.results).toEqual([{ experiment: 'messenger', status: 'INTERRUPTED', skipped: [] }]);
    expect(existsSync(join(out, 'report.html'))).toBe(true);
    expect(lab.stdout()).toMatch(/^report: results\/report\.html$/m);
    await new Promise((r) => setTimeout(r, 200));
    expect(summary.pids.filter(alive)).toEqual([]);
    expect(existsSync(join(cwd, '.netlab/pg/postmaster.pid'))).toBe(false);
  }, 120_000);
});
