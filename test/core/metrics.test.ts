import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createRegistry } from '../../src/core/metrics.js';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

describe('createRegistry', () => {
  it('carries netlab_build_info{version,node_version} = 1, labelled with the role', async () => {
    const text = await createRegistry('some-role').metrics();
    expect(text).toContain('# TYPE netlab_build_info gauge');
    expect(text).toMatch(new RegExp(`^netlab_build_info\\{version="${version.replace(/\./g, '\\.')}",node_version="${process.versions.node}",role="some-role"\\} 1$`, 'm'));
  });
});
