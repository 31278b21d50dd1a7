import { opt } from '../core/options.js';
import { defineRole } from '../core/role.js';
import { EXPERIMENT_NAMES } from '../lab/experiment.js';
import { runLab } from '../lab/lab-runner.js';
import { summaryOf } from './index.js';

export default defineRole({
  name: 'lab',
  summary: summaryOf('lab'),
  options: {
    only: opt.list('experiments to run', EXPERIMENT_NAMES, EXPERIMENT_NAMES),
    quick: opt.switch('a short run of each experiment (under a minute in all)'),
    out: opt.optionalString('output directory (default results/<timestamp>)', 'dir'),
  },
  async run(o, context) {
    return runLab({ only: o.only, quick: o.quick, out: o.out }, context);
  },
});
