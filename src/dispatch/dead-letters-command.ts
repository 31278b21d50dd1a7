import { existsSync } from 'node:fs';
import { OptionError } from '../core/errors.js';
import { checkStore, damagedWhileReading } from './store-check.js';
import { StoreDamagedError } from './store-errors.js';
import { DispatchStore, deadLetterJson } from './store.js';

/**
 * `netlab dispatcher dead-letters --data DIR`: every dead letter as one JSON line, in id order.
 *
 * It takes no lock: it opens the environment read-only, and LMDB readers are safe beside a writer (a
 * reader sees one committed snapshot), so it may run while a dispatcher works on DIR. It checks the store
 * as the dispatcher does (a damaged file is one line and exit 65), and reads every dead letter once before
 * printing any, so a store LMDB fails to read prints nothing but that line.
 */
export async function printDeadLetters(dir: string, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  if (!existsSync(dir)) throw new OptionError(`--data: no dispatcher store in "${dir}" (no such directory)`);
  if (checkStore(dir).state === 'new') throw new OptionError(`--data: no dispatcher store in "${dir}" (no data.mdb)`);
  // Every line is made inside one synchronous pass: lmdb-js renews a read transaction once the event
  // loop turns, so an iteration that awaits a slow reader's 'drain' could end early, silently (a slow
  // pipe printed 375 of 500). The list is bounded by --max-dead-letters.
  let store: DispatchStore | undefined;
  const lines: string[] = [];
  try {
    store = new DispatchStore(dir, { readOnly: true });
    for (const record of store.allDeadLetters()) lines.push(JSON.stringify(deadLetterJson(record)) + '\n');
  } catch (err) {
    throw err instanceof StoreDamagedError ? err : damagedWhileReading(dir, err);
  } finally {
    await store?.root.close();
  }
  // A closed pipe (`| head`) ends the listing quietly instead of crashing on EPIPE.
  let closed = false;
  const onError = () => {
    closed = true;
    out.emit('drain');
  };
  out.on('error', onError);
  try {
    let count = 0;
    for (const line of lines) {
      if (closed) break;
      if (!out.write(line)) await new Promise((r) => out.once('drain', r));
      count++;
    }
    // The process exits right after: wait until what was written has reached the pipe (a pipe's writes
    // can be asynchronous, and exit drops what is still queued).
    if (!closed) await new Promise<void>((r) => out.write('', () => r()));
    return count;
  } finally {
    out.off('error', onError);
  }
}
