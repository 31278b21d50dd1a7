import { describe, expect, it } from 'vitest';
import { decodeTick, encodeTick, formatDt, formatUnixSeconds, MAX_TICK_BYTES } from '../../src/tick/protocol.js';

const enc = (s: string) => new TextEncoder().encode(s);

describe('tick protocol', () => {
  it('encodes the exercise body with t in unix seconds to the microsecond', () => {
    const text = new TextDecoder().decode(encodeTick({ src: 'app1', seq: 7, tUs: 1_712_345_678_100_000 }));
    expect(text).toBe('{"src":"app1","seq":7,"t":1712345678.100000}');
    expect(JSON.parse(text)).toEqual({ src: 'app1', seq: 7, t: 1712345678.1 });
  });

  it('round-trips boot and echo fields exactly', () => {
    const tick = { src: 'app2', seq: 123, tUs: 1_712_345_678_123_456, boot: 'deadbeef', echo: { seq: 99, tUs: 1_712_345_678_120_001, ageUs: 3455 } };
    const bytes = encodeTick(tick);
    expect(JSON.parse(new TextDecoder().decode(bytes))).toMatchObject({ echo_seq: 99, echo_t: 1712345678.120001, echo_age_us: 3455, boot: 'deadbeef' });
    expect(decodeTick(bytes)).toEqual({ ok: true, tick });
  });

  it('formats negative and small times', () => {
    expect(formatUnixSeconds(1)).toBe('0.000001');
    expect(formatUnixSeconds(-1_500_000)).toBe('-1.500000');
  });

  it('accepts a body from another implementation (no boot, no echo)', () => {
    expect(decodeTick(enc('{"src":"app1","seq":0,"t":1712345678.5}'))).toEqual({ ok: true, tick: { src: 'app1', seq: 0, tUs: 1_712_345_678_500_000 } });
  });

  it.each([
    ['not json', 'not-json', 'not JSON'],
    ['[1]', 'bad-schema', 'not a JSON object'],
    ['{"seq":1,"t":1}', 'bad-schema', 'src must be a non-empty string'],
    ['{"src":"a","seq":-1,"t":1}', 'bad-schema', 'seq must be a whole number >= 0'],
    ['{"src":"a","seq":1.5,"t":1}', 'bad-schema', 'seq must be a whole number >= 0'],
    ['{"src":"a","seq":1e300,"t":1}', 'bad-schema', 'seq must be a whole number >= 0'],
    ['{"src":"a","seq":1,"t":"x"}', 'bad-schema', 't must be a number (unix seconds)'],
    ['{"src":"a","seq":1,"t":1e308}', 'bad-time', 't 1e+308 is out of range'],
    ['{"src":"a","seq":1,"t":-1e308}', 'bad-time', 't -1e+308 is out of range'],
    ['{"src":"a","seq":1,"t":1,"boot":5}', 'bad-schema', 'boot must be a string'],
    ['{"src":"a","seq":1,"t":1,"echo_seq":1}', 'bad-schema', 'echo_seq, echo_t and echo_age_us must come together as numbers'],
    ['{"src":"a","seq":1,"t":1,"echo_seq":1,"echo_t":1e308,"echo_age_us":0}', 'bad-echo', 'echo_t 1e+308 is out of range'],
  ])('rejects %s as %s', (body, reason, error) => {
    expect(decodeTick(enc(body))).toEqual({ ok: false, reason, error });
  });

  it('rejects oversized messages without parsing them', () => {
    expect(decodeTick(new Uint8Array(MAX_TICK_BYTES + 1))).toMatchObject({ ok: false, reason: 'too-large' });
  });

  it('prints dt in seconds rounded to the millisecond, as the exercise asks', () => {
    expect(formatDt(3000)).toBe('dt=0.003');
    expect(formatDt(2500)).toBe('dt=0.003');
    expect(formatDt(2499)).toBe('dt=0.002');
    expect(formatDt(499)).toBe('dt=0.000');
    expect(formatDt(-400)).toBe('dt=0.000');
    expect(formatDt(-1600)).toBe('dt=-0.002');
    expect(formatDt(1_234_567)).toBe('dt=1.235');
  });
});
