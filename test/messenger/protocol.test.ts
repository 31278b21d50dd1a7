import { describe, expect, it } from 'vitest';
import { NetlabError } from '../../src/core/errors.js';
import { parseHistoryQuery, parseNewMessage } from '../../src/messenger/protocol.js';

describe('parseNewMessage', () => {
  it('accepts sender and text, ignoring extra fields', () => {
    expect(parseNewMessage({ sender: 'a', text: 'b', extra: 1 })).toEqual({ sender: 'a', text: 'b' });
  });

  it.each([
    [null, /JSON object/],
    [[], /JSON object/],
    ['x', /JSON object/],
    [{ text: 'b' }, /"sender" is required/],
    [{ sender: 'a' }, /"text" is required/],
    [{ sender: '', text: 'b' }, /"sender" must not be empty/],
    [{ sender: 'a', text: '' }, /"text" must not be empty/],
    [{ sender: 1, text: 'b' }, /"sender" must be a string/],
    [{ sender: 'a', text: ['b'] }, /"text" must be a string/],
    [{ sender: 'a'.repeat(65), text: 'b' }, /at most 64/],
    [{ sender: 'a', text: 'b'.repeat(4097) }, /at most 4096/],
    [{ sender: 'a\u0000', text: 'b' }, /NUL/],
  ])('rejects %j', (body, message) => {
    expect(() => parseNewMessage(body)).toThrow(message);
    try {
      parseNewMessage(body);
    } catch (err) {
      expect((err as NetlabError).status).toBe(400);
    }
  });

  it('counts characters as PostgreSQL does (code points)', () => {
    expect(parseNewMessage({ sender: '😀'.repeat(64), text: 'x' }).sender).toHaveLength(128);
    expect(() => parseNewMessage({ sender: '😀'.repeat(65), text: 'x' })).toThrow(/at most 64/);
  });
});

describe('parseHistoryQuery', () => {
  it('defaults and bounds', () => {
    expect(parseHistoryQuery(undefined, undefined)).toEqual({ limit: 50 });
    expect(parseHistoryQuery('1000', '7')).toEqual({ limit: 1000, before: 7 });
    for (const limit of ['0', '1001', 'x', '1.5', '-1']) expect(() => parseHistoryQuery(limit, undefined)).toThrow(/limit/);
    for (const before of ['0', 'x', '-3']) expect(() => parseHistoryQuery(undefined, before)).toThrow(/before/);
  });
});
