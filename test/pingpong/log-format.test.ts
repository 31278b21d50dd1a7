import { describe, expect, it } from 'vitest';
import {
  MARKER_SETS,
  clientAnsweredLine,
  clientKeepaliveLine,
  clientTimeoutLine,
  elapsedMs,
  formatDate,
  formatTime,
  logLineParser,
  serverAnsweredLine,
  serverIgnoredLine,
} from '../../src/pingpong/log-format.js';

// Local-time dates: the logs are in the local zone, and these components are local whatever TZ is.
const at = (h: number, m: number, s: number, ms: number) => new Date(2025, 7, 22, h, m, s, ms);

describe('log lines', () => {
  it('formats date and time with zero padding, in local time', () => {
    expect(formatDate(new Date(2025, 0, 5, 1, 2, 3, 4))).toBe('2025-01-05');
    expect(formatTime(new Date(2025, 0, 5, 1, 2, 3, 4))).toBe('01:02:03.004');
    expect(formatTime(at(23, 59, 59, 999))).toBe('23:59:59.999');
  });

  it('writes the server lines of the exercise exactly', () => {
    expect(serverAnsweredLine(at(12, 0, 1, 234), '[0] PING', at(12, 0, 2, 1), '[3/0] PONG (1)')).toBe('2025-08-22;12:00:01.234;[0] PING;12:00:02.001;[3/0] PONG (1)');
    expect(serverIgnoredLine(at(12, 0, 1, 234), '[0] PING', MARKER_SETS.ru)).toBe('2025-08-22;12:00:01.234;[0] PING;(проигнорировано);(проигнорировано)');
    expect(serverIgnoredLine(at(12, 0, 1, 234), '[0] PING', MARKER_SETS.en)).toBe('2025-08-22;12:00:01.234;[0] PING;(ignored);(ignored)');
  });

  it('writes the client lines of the exercise exactly', () => {
    expect(clientAnsweredLine(at(21, 38, 34, 779), '[0] PING', at(21, 38, 35, 600), '[0/0] PONG (1)')).toBe('2025-08-22;21:38:34.779;[0] PING;21:38:35.600;[0/0] PONG (1)');
    expect(clientTimeoutLine(at(12, 0, 2, 567), '[1] PING', MARKER_SETS.ru)).toBe('2025-08-22;12:00:02.567;[1] PING;(таймаут);(таймаут)');
    expect(clientTimeoutLine(at(12, 0, 2, 567), '[1] PING', MARKER_SETS.en)).toBe('2025-08-22;12:00:02.567;[1] PING;(timeout);(timeout)');
    expect(clientKeepaliveLine(at(12, 0, 5, 123), '[15] keepalive')).toBe('2025-08-22;;;12:00:05.123;[15] keepalive');
  });

  it('reads its own lines back, and only them', () => {
    const server = logLineParser(MARKER_SETS.ru, 'server');
    const client = logLineParser(MARKER_SETS.en, 'client');
    expect(server('2025-08-22;12:00:01.234;[0] PING;12:00:02.001;[3/0] PONG (1)')).toEqual({
      kind: 'answered', date: '2025-08-22', requestMs: 43_201_234, n: 0, responseMs: 43_202_001, k: 3, answerN: 0, id: 1,
    });
    expect(server('2025-08-22;12:00:01.234;[4] PING;(проигнорировано);(проигнорировано)')).toMatchObject({ kind: 'ignored', n: 4 });
    expect(server('2025-08-22;12:00:01.234;[4] PING;(ignored);(ignored)')).toBeUndefined(); // other marker set
    expect(server('2025-08-22;;;12:00:05.123;[15] keepalive')).toBeUndefined(); // not a server.log line
    expect(client('2025-08-22;12:00:02.567;[1] PING;(timeout);(timeout)')).toMatchObject({ kind: 'timeout', n: 1 });
    expect(client('2025-08-22;;;12:00:05.123;[15] keepalive')).toMatchObject({ kind: 'keepalive', k: 15, responseMs: 43_205_123 });
    expect(client('2025-08-22;12:00:02.567;[1] PING;(timeout)')).toBeUndefined();
  });

  it('measures elapsed time across midnight', () => {
    expect(elapsedMs(1000, 1500)).toBe(500);
    expect(elapsedMs(86_399_900, 100)).toBe(200);
  });
});
