import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, NetlabError } from '../../src/core/errors.js';

const doc = readFileSync(new URL('../../docs/operations.md', import.meta.url), 'utf8');

describe('error codes', () => {
  it('are unique, prefixed and each documented with its status in docs/operations.md', () => {
    const codes = Object.keys(ERROR_CODES);
    expect(new Set(codes).size).toBe(codes.length);
    for (const [code, { status }] of Object.entries(ERROR_CODES)) {
      expect(code).toMatch(/^NETLAB_ERR_[A-Z_]+$/);
      const row = doc.split('\n').find((l) => l.startsWith(`| \`${code}\` |`));
      expect(row, `${code} is documented`).toBeDefined();
      expect(row).toContain(status === 0 ? '| — |' : `| ${status} |`);
    }
  });

  it('documents no code that does not exist', () => {
    const documented = [...doc.matchAll(/^\| `(NETLAB_ERR_[A-Z_]+)` \|/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });

  it('carries code, status and cause', () => {
    const cause = new Error('root');
    const err = new NetlabError('NETLAB_ERR_DB_UNAVAILABLE', 'db gone', { cause });
    expect(err).toMatchObject({ code: 'NETLAB_ERR_DB_UNAVAILABLE', status: 503, message: 'db gone', cause, name: 'NetlabError' });
  });
});
