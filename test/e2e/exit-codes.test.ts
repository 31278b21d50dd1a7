import { describe, expect, it } from 'vitest';
import { EXIT_BAD_USAGE } from '../../src/core/exit-codes.js';
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
