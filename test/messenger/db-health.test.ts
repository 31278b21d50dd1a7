import { describe, expect, it } from 'vitest';
import { isConnectionError, isPoolBusyError } from '../../src/messenger/db-health.js';

describe('isConnectionError and isPoolBusyError', () => {
  it('a saturated pool is busy, not a database that is down', () => {
    const busy = new Error('timeout exceeded when trying to connect'); // pg-pool: no pooled connection free in time
    expect(isPoolBusyError(busy)).toBe(true);
    expect(isConnectionError(busy)).toBe(false);
  });

  it.each([
    ['a connect that timed out', new Error('Connection terminated due to connection timeout')],
    ['a refused connection', Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' })],
    ['an administrator shutdown', Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' })],
  ])('%s is a connection error', (_name, err) => {
    expect(isConnectionError(err)).toBe(true);
    expect(isPoolBusyError(err)).toBe(false);
  });

  it('a query error is neither', () => {
    const err = Object.assign(new Error('value too long for type character varying(64)'), { code: '22001' });
    expect(isConnectionError(err)).toBe(false);
    expect(isPoolBusyError(err)).toBe(false);
  });
});
