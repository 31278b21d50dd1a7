import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT_BAD_USAGE } from '../../../src/core/exit-codes.js';
import { tempDir } from '../../dispatch/helpers.js';
import { freePort, startNetlabPerTest } from '../../helpers/netlab-process.js';

const netlab = startNetlabPerTest();
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});

const plainLines = (text: string) => text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('{'));

describe('an unusable --data stops the dispatcher with one line and exit 2 (it used to spin at 100% CPU)', () => {
  const cases: [string, () => Promise<string>, RegExp][] = [
    ['a path under /proc', async () => '/proc/1/nope', /--data: cannot use "\/proc\/1\/nope": \/proc\/1 is not writable/],
    ['a path through a regular file', async () => {
      const { dir, remove } = await tempDir();
      cleanups.push(remove);
      writeFileSync(join(dir, 'file'), 'x');
      return join(dir, 'file', 'store');
    }, /is not a directory/],
  ];
  for (const [what, path, message] of cases) {
    it(`dispatcher: ${what}`, async () => {
      const data = await path();
      const p = netlab(['dispatcher', '--host', '127.0.0.1', '--port', String(await freePort()), '--data', data]);
      expect(await p.exited, p.output()).toBe(EXIT_BAD_USAGE);
      const lines = plainLines(p.stderr());
      expect(lines, p.output()).toHaveLength(1);
      expect(lines[0]).toMatch(message);
    });
  }

  it('dispatcher dead-letters: a path under /proc says there is no store', async () => {
    const p = netlab(['dispatcher', 'dead-letters', '--data', '/proc/1/nope']);
    expect(await p.exited, p.output()).toBe(EXIT_BAD_USAGE);
    expect(plainLines(p.stderr())).toEqual([expect.stringMatching(/no dispatcher store in "\/proc\/1\/nope"/)]);
  });
});
