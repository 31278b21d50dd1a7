import { describe, expect, it } from 'vitest';
import { NetlabError } from '../../src/core/errors.js';
import { checkContentType, decodeUtf8, parseHistoryQuery, parseNewMessage } from '../../src/messenger/protocol.js';

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

describe('text that is not Unicode', () => {
  it('rejects a lone surrogate in either field, and keeps a surrogate pair', () => {
    for (const bad of ['x\ud800y', '\udc00', 'end\ud83d']) {
      expect(() => parseNewMessage({ sender: 'a', text: bad })).toThrow(/"text" must be valid Unicode/);
      expect(() => parseNewMessage({ sender: bad, text: 'b' })).toThrow(/"sender" must be valid Unicode/);
    }
    expect(parseNewMessage({ sender: 'a', text: 'smile \u{1f600}' }).text).toBe('smile \u{1f600}');
  });

  it('decodes UTF-8 and refuses bytes that are not UTF-8 (no U+FFFD)', () => {
    expect(decodeUtf8(Buffer.from('caf\u00e9 \u{1f600}'))).toBe('caf\u00e9 \u{1f600}');
    for (const bytes of [[0xff], [0xc3], [0xe2, 0x82], [0xed, 0xa0, 0x80] /* an encoded surrogate */, [0xc0, 0xaf] /* overlong */]) {
      expect(() => decodeUtf8(Buffer.from([0x61, ...bytes, 0x62]))).toThrow(/not valid UTF-8/);
    }
  });

  it('accepts application/json with no charset or utf-8, and answers 415 for any other', () => {
    for (const ok of ['application/json', 'Application/JSON', 'application/json; charset=utf-8', 'application/json;charset="UTF-8"', 'application/json; charset=utf8']) {
      expect(() => checkContentType(ok)).not.toThrow();
    }
    for (const [type, message] of [
      [undefined, /must be application\/json/],
      ['text/plain', /must be application\/json/],
      ['application/jsonx', /must be application\/json/],
      ['application/json; charset=latin1', /charset must be utf-8, got "latin1"/],
      ['application/json; charset=utf-16', /charset must be utf-8/],
    ] as const) {
      let err: unknown;
      try {
        checkContentType(type);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(NetlabError);
      expect((err as NetlabError).status).toBe(415);
      expect((err as Error).message).toMatch(message);
    }
  });
});
