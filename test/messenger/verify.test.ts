import { describe, expect, it } from 'vitest';
import type { MessageView } from '../../src/messenger/protocol.js';
import { verifyResponses, type AnsweredRequest } from '../../src/messenger/verify.js';

const at = (ms: number) => new Date(Date.UTC(2026, 0, 1) + ms).toISOString();
/** A correct history of `n` messages by alternating senders. */
function history(n: number): MessageView[] {
  const counts = new Map<string, number>();
  return Array.from({ length: n }, (_, i) => {
    const sender = i % 3 === 0 ? 'alice' : 'bob';
    counts.set(sender, (counts.get(sender) ?? 0) + 1);
    return { seq: i + 1, sender, text: `m${i + 1}`, sentAt: at(i), userCount: counts.get(sender)! };
  });
}
/** Each message answered in turn: request i sent at 10i, answered at 10i+5, window cut from `all`. */
function answered(all: MessageView[]): AnsweredRequest[] {
  return all.map((m, i) => ({ sender: m.sender, text: m.text, sentAt: 10 * i, answeredAt: 10 * i + 5, messages: all.slice(Math.max(0, i - 9), i + 1) }));
}

describe('verifyResponses', () => {
  it('accepts a correct run', () => {
    expect(verifyResponses(answered(history(30)))).toEqual({ violations: 0, examples: [] });
  });

  it('catches a window with a gap (property 1)', () => {
    const reqs = answered(history(20));
    reqs[15]!.messages.splice(3, 1);
    expect(verifyResponses(reqs).examples.join('\n')).toMatch(/property 1/);
  });

  it('catches a window that does not end with the caller (property 1)', () => {
    const reqs = answered(history(20));
    reqs[12]!.messages = reqs[13]!.messages;
    expect(verifyResponses(reqs).violations).toBeGreaterThan(0);
  });

  it('catches two requests given one seq (property 2)', () => {
    const all = history(12);
    const reqs = answered(all);
    const dup = { ...all[11]!, text: 'other', sender: 'carol', userCount: 1 };
    reqs.push({ sender: 'carol', text: 'other', sentAt: 200, answeredAt: 201, messages: [...all.slice(2, 11), dup] });
    expect(verifyResponses(reqs).examples.join('\n')).toMatch(/property 2/);
  });

  it('catches a repeated or skipped userCount (property 2)', () => {
    const all = history(15);
    all[9] = { ...all[9]!, userCount: all[9]!.userCount + 1 };
    expect(verifyResponses(answered(all)).examples.join('\n')).toMatch(/property 2: sender "alice"/);
  });

  it('catches a later request with a smaller seq (property 3)', () => {
    const reqs = answered(history(20));
    // request for seq 5 claims it was sent after seq 10 was answered
    reqs[4]!.sentAt = 200;
    reqs[4]!.answeredAt = 210;
    expect(verifyResponses(reqs).examples.join('\n')).toMatch(/property 3/);
  });

  it('catches sentAt going backwards (property 4)', () => {
    const all = history(20);
    all[14] = { ...all[14]!, sentAt: at(3) };
    expect(verifyResponses(answered(all)).examples.join('\n')).toMatch(/property 4/);
  });
});
