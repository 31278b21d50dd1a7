import { describe, expect, it } from 'vitest';
import { SUMMARIES } from '../../src/commands/index.js';
import { EXIT_BAD_USAGE } from '../../src/core/exit-codes.js';
import { startNetlabPerTest } from '../helpers/netlab-process.js';

const netlab = startNetlabPerTest();

describe('netlab --help and subcommands', () => {
  it('lists every role with the summary its own --help shows', async () => {
    const p = netlab(['--help']);
    expect(await p.exited).toBe(0);
    for (const [name, summary] of Object.entries(SUMMARIES)) expect(p.stdout()).toContain(`\n  ${name.padEnd(15)}  ${summary}\n`);
  });

  it('dispatcher dead-letters --help shows its own flags, not the server\'s', async () => {
    const p = netlab(['dispatcher', 'dead-letters', '--help']);
    expect(await p.exited).toBe(0);
    expect(p.stdout()).toMatch(/^netlab dispatcher dead-letters: /);
    expect(p.stdout()).toContain('Usage: netlab dispatcher dead-letters --data DIR');
    expect(p.stdout()).toMatch(/\n {2}--data <dir> +DISPATCH_DATA /);
    expect(p.stdout()).not.toContain('--port');
  });

  it('an unknown subcommand or an extra argument is bad usage, one line', async () => {
    const a = netlab(['dispatcher', 'nope']);
    expect(await a.exited).toBe(EXIT_BAD_USAGE);
    expect(a.stderr()).toBe('netlab dispatcher: unknown subcommand "nope" (the only one is dead-letters)\n');
    const b = netlab(['dispatcher', 'dead-letters', 'extra']);
    expect(await b.exited).toBe(EXIT_BAD_USAGE);
    expect(b.stderr()).toBe('netlab dispatcher: unexpected argument "extra"\n');
  });
});
