import { describe, expect, it } from 'vitest';
import { keepaliveText, parseClientLine, parseServerLine, pingText, pongText } from '../../src/pingpong/protocol.js';

describe('protocol messages', () => {
  it('formats the three messages exactly', () => {
    expect(pingText(0)).toBe('[0] PING');
    expect(pongText(3, 0, 1)).toBe('[3/0] PONG (1)');
    expect(pongText(12, '007', 2)).toBe('[12/007] PONG (2)');
    expect(keepaliveText(15)).toBe('[15] keepalive');
  });

  it('parses a PING, forgiving surrounding blanks, and keeps n as sent', () => {
    expect(parseClientLine('[42] PING')).toEqual({ type: 'ping', n: 42, nText: '42', text: '[42] PING' });
    expect(parseClientLine('  [007] PING \t')).toEqual({ type: 'ping', n: 7, nText: '007', text: '[007] PING' });
  });

  it.each([
    ['', 'malformed'],
    ['PING', 'malformed'],
    ['[x] PING', 'malformed'],
    ['[-1] PING', 'malformed'],
    ['[1] ping', 'malformed'],
    ['[1]  PING', 'malformed'],
    ['[1] PING extra', 'malformed'],
    ['[12345678901234567] PING', 'malformed'],
    ['[1] PING\u00e9', 'not_ascii'],
    ['[1] PI\x00NG', 'not_ascii'],
  ])('calls %j a bad request (%s)', (line, reason) => {
    expect(parseClientLine(line)).toMatchObject({ type: 'bad', reason });
  });

  it('parses PONGs and keepalives from a server', () => {
    expect(parseServerLine('[3/0] PONG (1)')).toEqual({ type: 'pong', k: 3, n: 0, id: 1, text: '[3/0] PONG (1)' });
    expect(parseServerLine('[15] keepalive\r')).toEqual({ type: 'keepalive', k: 15, text: '[15] keepalive' });
  });

  it.each(['[3/0] PONG', '[3] PONG (1)', '[a] keepalive', '[3/0] PONG (x)', 'keepalive', '[01/0] PONG (1)'])('calls %j a bad server line', (line) => {
    expect(parseServerLine(line).type).toBe('bad');
  });
});
