import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { OptionError } from '../core/errors.js';
import { DispatchStore, deadLetterJson } from './store.js';

/** `netlab dispatcher dead-letters --data DIR`: every dead letter as one JSON line, in id order. */
export async function printDeadLetters(dir: string, out: NodeJS.WritableStream = process.stdout): Promise<number> {
  if (!existsSync(join(dir, 'data.mdb'))) throw new OptionError(`--data: no dispatcher store in "${dir}" (no data.mdb)`);
  // Read-only: safe while a dispatcher is running on the same directory (LMDB allows many readers).
  const store = new DispatchStore(dir, { readOnly: true });
  // A closed pipe (`| head`) ends the listing quietly instead of crashing on EPIPE.
  let closed = false;
  const onError = () => {
    closed = true;
    out.emit('drain');
  };
  out.on('error', onError);
  try {
    let count = 0;
    for (const record of store.allDeadLetters()) {
      if (closed) break;
      const line = JSON.stringify(deadLetterJson(record)) + '\n';
      if (!out.write(line)) await new Promise((r) => out.once('drain', r));
      count++;
    }
    return count;
  } finally {
    out.off('error', onError);
    await store.root.close();
  }
}
