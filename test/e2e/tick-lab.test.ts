/** `netlab tick-lab`: runs app1/app2 processes per bus and writes an ExperimentReport; skips absent brokers. */
import { access, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExperimentReport } from '../../src/core/experiment-report.js';
import { freePort, startNetlab } from '../helpers/netlab-process.js';
import { brokerGates } from '../tick/brokers.js';

const gates = await brokerGates();
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'netlab-tick-lab-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});
const readReport = async (file: string) => JSON.parse(await readFile(file, 'utf8')) as ExperimentReport;

describe('netlab tick-lab', () => {
  const live = gates.filter((g) => g.run);
  it.runIf(live.length > 0)('runs a pair over each bus and reports checks, headline numbers and dt series', async () => {
    for (const g of live) g.assertAvailable();
    const report = join(dir, 'live', 'report.json');
    const lab = startNetlab(['tick-lab', ...live.flatMap((g) => ['--bus', g.url]), '--duration', '2s', '--warmup', '0', '--report', report]);
    expect(await lab.exited).toBe(0);
    const r = await readReport(report);
    expect(r.experiment).toBe('tick');
    for (const g of live) {
      for (const what of ['both directions received', 'no loss in steady state', 'schedule drift within ±1 tick', 'no rejected messages']) {
        const check = r.checks.find((c) => c.name === `${g.kind}: ${what}`);
        expect(check, `${g.kind}: ${what}`).toMatchObject({ pass: true });
        expect(check!.detail).not.toMatch(/^skipped/);
      }
      expect(r.headline[`${g.kind}_status`]).toBe('ran');
      expect(r.headline[`${g.kind}_rejected`]).toBe(0);
      expect(r.headline[`${g.kind}_dt_p50_us`]).toBeGreaterThan(0);
      expect(r.headline[`${g.kind}_rtt_half_p50_us`]).toBeGreaterThan(0);
      const series = r.series![`${g.kind}_dt_us`]!;
      expect(series.reduce((s, p) => s + p.y, 0)).toBeGreaterThan(200); // both directions, ~2 s at 100/s
      await access(join(dir, 'live', r.files[`${g.kind}_app1_results`]!));
      await access(join(dir, 'live', r.files[`${g.kind}_app2_log`]!));
    }
  });

  it('skips a bus whose broker does not answer: the checks pass and say how to start one', async () => {
    const port = await freePort();
    const report = join(dir, 'skip', 'report.json');
    const lab = startNetlab(['tick-lab', '--bus', `nats://127.0.0.1:${port}`, '--duration', '1s', '--report', report], { NETLAB_REQUIRE_BROKERS: '' });
    expect(await lab.exited).toBe(0);
    expect(lab.output()).toContain(`skipped: no broker at nats://127.0.0.1:${port}`);
    const r = await readReport(report);
    expect(r.checks).toHaveLength(4);
    for (const c of r.checks) {
      expect(c.pass).toBe(true);
      expect(c.detail).toMatch(new RegExp(`^skipped: no broker at nats://127\\.0\\.0\\.1:${port} .*start one with .*NATS_URL`));
    }
    expect(r.headline.nats_status).toBe('skipped');
  });

  it('fails instead when NETLAB_REQUIRE_BROKERS=1', async () => {
    const port = await freePort();
    const report = join(dir, 'require', 'report.json');
    const lab = startNetlab(['tick-lab', '--bus', `amqp://guest:guest@127.0.0.1:${port}`, '--duration', '1s', '--report', report], { NETLAB_REQUIRE_BROKERS: '1' });
    expect(await lab.exited).toBe(1);
    const r = await readReport(report);
    expect(r.checks.some((c) => !c.pass && /no broker at amqp:\/\/guest:\*\*\*@127\.0\.0\.1/.test(c.detail ?? ''))).toBe(true);
  });
});
