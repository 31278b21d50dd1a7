import type { ExperimentCheck } from '../core/experiment-report.js';
import { FAILURE_REASONS, MESSAGE_STATES, type FailureReason, type MessageState } from './protocol.js';
import type { DispatchStore, MessageRecord } from './store.js';
import { EXIT_PERIOD, PANIC_PERIOD } from './worker.js';

/** The final accounting of a store: counts by state and the invariants of the dispatcher. */
export interface Accounting {
  generated: number;
  records: number;
  /** Dead messages removed by the retention limit (record and dead letter): generated = records + evicted. */
  evicted: number;
  byState: Record<MessageState, number>;
  deadLetters: number;
  /** Dead letters whose period is over 800 (their own tasks panic or exit) and the rest (lost to crashes and stream loss). */
  deadPeriodOver800: number;
  deadPeriodUpTo800: number;
  /** Share of finished messages (done + dead) that are dead. */
  deadShare: number;
  /** Share of finished messages with a period over 800: what the dead share would be with no worker exits or stream loss. */
  periodOver800Share: number;
  attemptsByReason: Record<FailureReason, number>;
  checks: ExperimentCheck[];
}

export interface AuditOptions {
  maxAttempts: number;
  /** The messages were worked by `netlab worker`s: check the panic and exit rules too. */
  workerRules?: boolean;
  /** Sum of `accepted` of every report answer the workers saw; at most the done count. */
  acceptedByWorkers?: number;
  /** Bounds for the dead share of finished messages ("about 20%"); omitted: not checked. */
  deadShareRange?: [number, number];
}

/** Most offending ids quoted in a failed check's detail. */
const MAX_EXAMPLES = 5;

class Violations {
  count = 0;
  examples: string[] = [];
  add(text: string): void {
    if (this.count++ < MAX_EXAMPLES) this.examples.push(text);
  }
  check(name: string, ok: string): ExperimentCheck {
    return this.count === 0 ? { name, pass: true, detail: ok } : { name, pass: false, detail: `${this.count} violations, e.g. ${this.examples.join('; ')}` };
  }
}

/** Reads every message and dead letter and checks that each message is accounted for exactly once. */
export function auditStore(store: DispatchStore, options: AuditOptions): Accounting {
  const byState: Record<MessageState, number> = { queued: 0, leased: 0, done: 0, dead: 0 };
  const attemptsByReason = Object.fromEntries(Object.values(FAILURE_REASONS).map((r) => [r, 0])) as Record<FailureReason, number>;
  const states = new Violations();
  const deadRule = new Violations();
  const exclusive = new Violations();
  const doneOnce = new Violations();
  const periods = new Violations();
  const deadIds = new Set<string>();
  let records = 0;
  let deadOver = 0;
  let finishedOver = 0;

  for (const m of store.allMessages()) {
    records++;
    if (!MESSAGE_STATES.includes(m.state)) {
      states.add(`${m.id} has state ${String(m.state)}`);
      continue;
    }
    byState[m.state]++;
    for (const a of m.attempts) attemptsByReason[a.reason] = (attemptsByReason[a.reason] ?? 0) + 1;
    if ((m.state === 'leased') !== (m.lease !== undefined)) states.add(`${m.id} is ${m.state} ${m.lease ? 'with' : 'without'} a lease`);
    if ((m.state === 'done') !== (m.done !== undefined)) doneOnce.add(`${m.id} is ${m.state} ${m.done ? 'with' : 'without'} a done record`);
    checkAttempts(m, options.maxAttempts, deadRule, store);
    checkExclusive(m, exclusive);
    if (m.state === 'dead') {
      deadIds.add(m.id);
      if (m.period > PANIC_PERIOD) deadOver++;
    }
    if ((m.state === 'done' || m.state === 'dead') && m.period > PANIC_PERIOD) finishedOver++;
    if (options.workerRules) {
      if (m.state === 'done' && m.period > PANIC_PERIOD) periods.add(`${m.id} (period ${m.period}) is done`);
      const own = m.attempts.find((a) => a.reason === FAILURE_REASONS.notReported);
      if (own && m.period <= PANIC_PERIOD) periods.add(`${m.id} (period ${m.period}) was not reported by ${own.client}`);
    }
  }
  let deadLetters = 0;
  for (const d of store.allDeadLetters()) {
    deadLetters++;
    if (!deadIds.has(d.id)) deadRule.add(`dead letter ${d.id} has no dead message`);
  }
  const generated = store.generated;
  const evicted = store.evicted;
  const sum = byState.queued + byState.leased + byState.done + byState.dead;
  const finished = byState.done + byState.dead;
  const deadShare = finished ? byState.dead / finished : 0;
  const checks: ExperimentCheck[] = [
    {
      name: 'every generated message is exactly one of done, dead, queued, leased',
      pass: states.count === 0 && records + evicted === generated && sum + evicted === generated,
      detail:
        `generated ${generated} = done ${byState.done} + dead ${byState.dead} + queued ${byState.queued} + leased ${byState.leased}` +
        (evicted ? ` + evicted ${evicted} (dead letters beyond the retention limit)` : '') +
        (records + evicted !== generated ? ` (but ${records} records)` : '') +
        (states.count ? `; ${states.count} bad records, e.g. ${states.examples.join('; ')}` : ''),
    },
    deadRule.check(`dead-lettered after exactly ${options.maxAttempts} failed attempts, and only then`, `${byState.dead} dead, ${deadLetters} dead letters, each with ${options.maxAttempts} attempts`),
    exclusive.check('no message leased to two clients at once', 'attempt intervals of every message are disjoint and in order'),
    doneOnce.check('no message done twice', `${byState.done} done, each once`),
  ];
  if (options.acceptedByWorkers !== undefined) {
    checks.push({
      name: 'workers saw no more acceptances than done messages',
      pass: options.acceptedByWorkers <= byState.done,
      detail: `workers were told ${options.acceptedByWorkers} accepted; ${byState.done} done (answers lost to a crash make it smaller, never larger)`,
    });
  }
  if (options.workerRules) {
    checks.push(periods.check(`period > ${PANIC_PERIOD} never done; period <= ${PANIC_PERIOD} fails only through stream loss, a worker exit or the dispatcher`, 'every failed attempt of a period <= 800 message had an outside cause'));
  }
  if (options.deadShareRange) {
    const [lo, hi] = options.deadShareRange;
    checks.push({
      // The design's "about 20%" is the period > 800 share; worker exits take whole batches with them (docs/dispatch.md).
      name: `dead-lettered share of finished messages within ${pct(lo)}..${pct(hi)} (20% with period > ${PANIC_PERIOD}, plus batches lost with their worker)`,
      pass: finished > 0 && deadShare >= lo && deadShare <= hi,
      detail:
        `${pct(deadShare)} of ${finished} finished are dead (expected ${pct(lo)}..${pct(hi)}): ${deadOver} had period > ${PANIC_PERIOD} ` +
        `(${pct(finished ? finishedOver / finished : 0)} of finished), ${byState.dead - deadOver} lost their 3 attempts to worker exits (period > ${EXIT_PERIOD} in the same batch), stream loss or dispatcher crashes`,
    });
  }
  return {
    generated,
    records,
    evicted,
    byState,
    deadLetters,
    deadPeriodOver800: deadOver,
    deadPeriodUpTo800: byState.dead - deadOver,
    deadShare,
    periodOver800Share: finished ? finishedOver / finished : 0,
    attemptsByReason,
    checks,
  };
}

const pct = (x: number): string => `${(x * 100).toFixed(1)}%`;

function checkAttempts(m: MessageRecord, max: number, v: Violations, store: DispatchStore): void {
  if (m.state === 'dead') {
    if (m.attempts.length !== max) v.add(`${m.id} dead after ${m.attempts.length} attempts`);
    const letter = store.getDeadLetter(m.id);
    if (!letter) v.add(`${m.id} dead without a dead letter`);
    else if (letter.attempts.length !== m.attempts.length) v.add(`dead letter ${m.id} has ${letter.attempts.length} attempts, the message ${m.attempts.length}`);
  } else if (m.attempts.length >= max) v.add(`${m.id} is ${m.state} after ${m.attempts.length} failed attempts`);
}

/** Each attempt starts after the previous one ended; the open lease or the success comes after all failures. */
function checkExclusive(m: MessageRecord, v: Violations): void {
  let end = m.createdAt;
  for (const a of m.attempts) {
    if (a.leasedAt < end || a.at < a.leasedAt) {
      v.add(`${m.id}: attempt by ${a.client} overlaps the previous one`);
      return;
    }
    end = a.at;
  }
  const next = m.lease?.at ?? m.done?.leasedAt;
  if (next !== undefined && next < end) v.add(`${m.id}: leased to ${m.lease?.client ?? m.done?.client} before its previous attempt ended`);
}
