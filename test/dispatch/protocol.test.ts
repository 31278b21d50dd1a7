import { describe, expect, it } from 'vitest';
import { NetlabError } from '../../src/core/errors.js';
import { parseBatchSize, parseDeadLetterQuery, parseReportBody } from '../../src/dispatch/protocol.js';

const reason = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(NetlabError);
    expect((err as NetlabError).status).toBe(400);
    return (err as Error).message;
  }
  throw new Error('did not throw');
};

describe('protocol parsing', () => {
  it('batchsize: 1..max accepted; missing, zero, non-numeric, negative, fractional, huge rejected with a reason', () => {
    expect(parseBatchSize('1', 1000)).toBe(1);
    expect(parseBatchSize('1000', 1000)).toBe(1000);
    expect(reason(() => parseBatchSize(undefined, 1000))).toMatch(/required/);
    expect(reason(() => parseBatchSize('', 1000))).toMatch(/required/);
    expect(reason(() => parseBatchSize('0', 1000))).toMatch(/from 1 to 1000/);
    expect(reason(() => parseBatchSize('1001', 1000))).toMatch(/from 1 to 1000/);
    expect(reason(() => parseBatchSize('99999999999999999999999', 1000))).toMatch(/from 1 to 1000/);
    for (const bad of ['abc', '-1', '2.5', '1e3', '0x10']) expect(reason(() => parseBatchSize(bad, 1000))).toMatch(/whole number/);
  });

  it('report body: an array or {"ids": [...]} of strings', () => {
    expect(parseReportBody('["a","b"]')).toEqual(['a', 'b']);
    expect(parseReportBody('{"ids":["a"]}')).toEqual(['a']);
    expect(parseReportBody('[]')).toEqual([]);
    expect(reason(() => parseReportBody('not json'))).toMatch(/not valid JSON/);
    expect(reason(() => parseReportBody(''))).toMatch(/not valid JSON/);
    expect(reason(() => parseReportBody('{"id":"a"}'))).toMatch(/must be/);
    expect(reason(() => parseReportBody('"a"'))).toMatch(/must be/);
    expect(reason(() => parseReportBody('null'))).toMatch(/must be/);
    expect(reason(() => parseReportBody('[1,2]'))).toMatch(/string/);
    expect(reason(() => parseReportBody('{"ids":[null]}'))).toMatch(/string/);
  });

  it('dead-letter paging: limit 1..1000, after must be an id', () => {
    expect(parseDeadLetterQuery(undefined, undefined)).toEqual({ limit: 100 });
    expect(parseDeadLetterQuery('5', '9m4e2mr0ui3e8a215n4g')).toEqual({ limit: 5, after: '9m4e2mr0ui3e8a215n4g' });
    expect(reason(() => parseDeadLetterQuery('0', undefined))).toMatch(/limit/);
    expect(reason(() => parseDeadLetterQuery('x', undefined))).toMatch(/limit/);
    expect(reason(() => parseDeadLetterQuery(undefined, 'nope'))).toMatch(/after/);
  });
});
