import type { MessageView } from './protocol.js';

/** One answered request as the bench saw it. Times are from one monotonic clock (ms). */
export interface AnsweredRequest {
  sender: string;
  text: string;
  sentAt: number;
  answeredAt: number;
  messages: MessageView[];
}

export interface VerifyResult {
  violations: number;
  /** The first few, readable. */
  examples: string[];
}

const MAX_EXAMPLES = 20;

/**
 * Checks the messenger's four properties from the responses alone:
 * 1. each window is the min(10, seq) consecutive messages ending at the caller's own;
 * 2. no seq is shared by two messages; per sender, userCount has no repeat and, where the seqs
 *    between two messages were all observed, no gap;
 * 3. a request answered before another was sent has the smaller seq;
 * 4. sentAt never decreases as seq grows.
 */
export function verifyResponses(requests: readonly AnsweredRequest[]): VerifyResult {
  const examples: string[] = [];
  let violations = 0;
  const fail = (message: string) => {
    violations++;
    if (examples.length < MAX_EXAMPLES) examples.push(message);
  };

  const bySeq = new Map<number, MessageView>();
  const ownSeq: number[] = [];
  for (const r of requests) {
    const w = r.messages;
    const own = w[w.length - 1];
    if (!own || own.sender !== r.sender || own.text !== r.text) {
      fail(`property 1: window of "${r.text}" does not end with the caller's own message`);
      ownSeq.push(NaN);
      continue;
    }
    ownSeq.push(own.seq);
    if (w.length !== Math.min(10, own.seq)) fail(`property 1: seq ${own.seq} answered with ${w.length} messages, expected ${Math.min(10, own.seq)}`);
    for (let i = 1; i < w.length; i++) {
      if (w[i]!.seq !== w[i - 1]!.seq + 1) fail(`property 1: window of seq ${own.seq} jumps from ${w[i - 1]!.seq} to ${w[i]!.seq}`);
    }
    for (const m of w) {
      const seen = bySeq.get(m.seq);
      if (!seen) bySeq.set(m.seq, m);
      else if (seen.sender !== m.sender || seen.text !== m.text || seen.sentAt !== m.sentAt || seen.userCount !== m.userCount) {
        fail(`property 2: seq ${m.seq} shown as two different messages`);
      }
    }
  }

  const owners = new Map<number, number>();
  ownSeq.forEach((seq, i) => {
    if (Number.isNaN(seq)) return;
    if (owners.has(seq)) fail(`property 2: seq ${seq} given to two requests ("${requests[owners.get(seq)!]!.text}" and "${requests[i]!.text}")`);
    owners.set(seq, i);
  });

  // Property 2, per sender: walk all observed messages in seq order.
  const ordered = [...bySeq.values()].sort((a, b) => a.seq - b.seq);
  const lastBySender = new Map<string, MessageView>();
  const countKey = new Map<string, number>();
  let previous: MessageView | undefined;
  let runStart = ordered[0]?.seq ?? 0; // seqs from runStart to the current one were all observed
  for (const m of ordered) {
    if (previous && m.seq !== previous.seq + 1) runStart = m.seq;
    const key = `${m.sender}\u0000${m.userCount}`;
    if (countKey.has(key) && countKey.get(key) !== m.seq) fail(`property 2: sender "${m.sender}" has userCount ${m.userCount} twice (seq ${countKey.get(key)} and ${m.seq})`);
    countKey.set(key, m.seq);
    const last = lastBySender.get(m.sender);
    if (last) {
      if (m.userCount <= last.userCount) fail(`property 2: sender "${m.sender}" userCount goes from ${last.userCount} (seq ${last.seq}) to ${m.userCount} (seq ${m.seq})`);
      else if (last.seq >= runStart && m.userCount !== last.userCount + 1) fail(`property 2: sender "${m.sender}" userCount skips from ${last.userCount} to ${m.userCount}`);
    }
    lastBySender.set(m.sender, m);
    // Property 4.
    if (previous && Date.parse(m.sentAt) < Date.parse(previous.sentAt)) fail(`property 4: sentAt decreases from seq ${previous.seq} to ${m.seq}`);
    previous = m;
  }

  // Property 3: sweep requests by send time, tracking the highest seq answered before it.
  const bySend = requests.map((_, i) => i).filter((i) => !Number.isNaN(ownSeq[i]!)).sort((a, b) => requests[a]!.sentAt - requests[b]!.sentAt);
  const byAnswer = [...bySend].sort((a, b) => requests[a]!.answeredAt - requests[b]!.answeredAt);
  let j = 0;
  let maxAnswered = -Infinity;
  let maxAnsweredIndex = -1;
  for (const i of bySend) {
    while (j < byAnswer.length && requests[byAnswer[j]!]!.answeredAt < requests[i]!.sentAt) {
      const k = byAnswer[j++]!;
      if (ownSeq[k]! > maxAnswered) {
        maxAnswered = ownSeq[k]!;
        maxAnsweredIndex = k;
      }
    }
    if (ownSeq[i]! < maxAnswered) fail(`property 3: seq ${ownSeq[i]} was sent after seq ${maxAnswered} ("${requests[maxAnsweredIndex]!.text}") was answered`);
  }
  return { violations, examples };
}
