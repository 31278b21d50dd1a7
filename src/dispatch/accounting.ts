import type { ExperimentCheck } from '../core/experiment-report.js';
import { FAILURE_REASONS, MAX_PERIOD, MESSAGE_STATES, MIN_PERIOD, type FailureReason, type MessageState } from './protocol.js';
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
  /** Share of the stored messages (every state) with a period over 800: the generator's, 20% in expectation. */
  generatedPeriodOver800Share: number;
  attemptsByReason: Record<FailureReason, number>;
  checks: ExperimentCheck[];
}

export interface AuditOptions {
  maxAttempts: number;
  /** The messages were worked by `netlab worker`s: check the panic and exit rules too. */
  workerRules?: boolean;
  /** Sum of `accepted` of every report answer the workers saw; at most the done count. */
  acceptedByWorkers?: number;
  /**
   * Check the exercise's "about 20%": the share of messages generated with period > 800, within sampling
   * error. The dead share itself is reported in its detail, not judged: worker exits add the batches lost
   * with them, which depends on the machine (a busy one restarts workers slower and loses more streams).
   */
  periodShare?: boolean;
}

/** Periods are uniform over MIN_PERIOD..MAX_PERIOD: the expected share above PANIC_PERIOD (20%). */
export const EXPECTED_PERIOD_OVER_800 = (MAX_PERIOD - PANIC_PERIOD) / (MAX_PERIOD - MIN_PERIOD + 1);
/** Standard deviations of the binomial share allowed: a correct generator fails it about once in 16,000 runs. */
const SHARE_SIGMAS = 4;

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
  let recordsOver = 0;

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
    if (m.period > PANIC_PERIOD) recordsOver++;
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
  if (options.periodShare) {
    const share = records ? recordsOver / records : 0;
    const tolerance = records ? SHARE_SIGMAS * Math.sqrt((EXPECTED_PERIOD_OVER_800 * (1 - EXPECTED_PERIOD_OVER_800)) / records) : 0;
    checks.push({
      // The design's "about 20%" dead: the period > 800 messages, which the rule above keeps from ever being done.
      name: `${pct(EXPECTED_PERIOD_OVER_800)} of generated messages have period > ${PANIC_PERIOD}, within sampling error (the exercise's "about 20%" dead-lettered)`,
      pass: records > 0 && Math.abs(share - EXPECTED_PERIOD_OVER_800) <= tolerance,
      detail:
        `${pct(share)} of ${records} stored messages (expected ${pct(EXPECTED_PERIOD_OVER_800)} ± ${pct(tolerance)}, ${SHARE_SIGMAS} standard deviations${evicted ? `; ${evicted} evicted not counted` : ''}); ` +
        `dead-lettered ${pct(deadShare)} of ${finished} finished: ${deadOver} with period > ${PANIC_PERIOD}, ${byState.dead - deadOver} with period <= ${PANIC_PERIOD} ` +
        `that lost their 3 attempts to worker exits (period > ${EXIT_PERIOD} in the same batch), stream loss or dispatcher crashes`,
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
    generatedPeriodOver800Share: records ? recordsOver / records : 0,
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
