import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { ExperimentReport } from '../core/experiment-report.js';
import type { ExperimentContext } from '../core/experiment.js';
import type { Experiment, ExperimentName } from './experiment.js';

/**
 * An experiment whose own orchestrating role does the work and writes an ExperimentReport with
 * `--report FILE`; the lab only starts it and reads the file.
 */
export function reportingExperiment(name: ExperimentName, title: string, args: (ctx: ExperimentContext) => string[]): Experiment {
  return {
    name,
    title,
    async run(ctx) {
      const started = Date.now();
      const reportFile = join(ctx.dir, 'report.json');
      const argv = [...args(ctx), '--report', reportFile];
      ctx.progress(`netlab ${argv.slice(0, 1).join(' ')} running`);
      const child = ctx.children.start(name, argv, { logFile: join(ctx.dir, 'output.log') });
      const code = await child.exited;
      try {
        const report = JSON.parse(await readFile(reportFile, 'utf8')) as ExperimentReport;
        report.files = { ...report.files, output: 'output.log' };
        if (code !== 0) report.checks.push({ name: `netlab ${argv[0]} exited 0`, pass: false, detail: `exit code ${code}` });
        return report;
      } catch {
        return {
          experiment: name,
          startedAt: new Date(started).toISOString(),
          durationSeconds: (Date.now() - started) / 1000,
          checks: [{ name: `netlab ${argv[0]} wrote its report`, pass: false, detail: `exit code ${code}: ${child.output().trim().split('\n').slice(-3).join(' | ')}` }],
          headline: {},
          files: { output: 'output.log' },
        };
      }
    },
  };
}
