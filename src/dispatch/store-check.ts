import { spawnSync } from 'node:child_process';
import { accessSync, closeSync, constants, existsSync, mkdirSync, openSync, readFileSync, readSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { OptionError } from '../core/errors.js';
import { StoreDamagedError } from './store-errors.js';

export const DATA_FILE = 'data.mdb';
/** Written beside data.mdb when the store is created and at every clean stop: proof that a store was there. */
export const MARKER_FILE = 'store.json';
const MARKER_FORMAT = 'netlab-dispatch-store/1';

/**
 * LMDB's file layout (lmdb-js's liblmdb, mdb.c: MDB_page_header, MDB_meta, MDB_db), 64-bit little-endian:
 * pages 0 and 1 are meta pages; a page header is 24 bytes (pgno, txnid, pad, flags, lower/upper); the meta
 * follows it: magic, version, address, mapsize, two MDB_db of 48 bytes (the first's md_pad is the page size,
 * md_root at +40), last used page, txnid.
 */
const LMDB = {
  magic: 0xbeefc0de,
  dataVersion: 2,
  pageFlagsAt: 18,
  metaFlag: 0x08,
  metaAt: 24,
  magicAt: 24,
  versionAt: 28,
  pageSizeAt: 24 + 24,
  freeRootAt: 24 + 24 + 40,
  mainRootAt: 24 + 72 + 40,
  lastPageAt: 24 + 120,
  txnidAt: 24 + 128,
  minPageSize: 512,
  maxPageSize: 65536,
  invalidPage: 0xffff_ffff_ffff_ffffn,
} as const;
/**
 * mdb.c: "the file may be shorter [than the last used page] if the freeDB lists the final pages": pages freed
 * in the transaction that allocated them are never written. A few such pages are normal, a cut file is not.
 */
const UNWRITTEN_TAIL_PAGES = 64;
/** The probe reads a whole store in a child process; a bounded store takes well under a second. */
const PROBE_TIMEOUT_MS = 60_000;

/** What the meta pages say. */
export interface StoreFileFacts {
  bytes: number;
  pageSize: number;
  lastPage: number;
  txnid: number;
  /** Pages the meta says are used but the file lacks (within UNWRITTEN_TAIL_PAGES): the probe decides. */
  missingPages: number;
}

export interface StoreMarker {
  format: string;
  createdAt: string;
  updatedAt: string;
  /** Message records at the last update (queued + leased + done + dead). */
  records: number;
  bytes: number;
}

/**
 * Makes `--data` exist without ever hanging: `mkdirSync(recursive)` spins forever on a path like
 * /proc/1/nope, so the nearest existing ancestor is checked (a writable directory) and each missing
 * level is created on its own. Any problem is one OptionError line (exit 2).
 */
export function ensureDataDir(dir: string): void {
  const target = resolve(dir);
  const missing: string[] = [];
  let existing = target;
  while (!existsSync(existing)) {
    missing.unshift(existing);
    const up = dirname(existing);
    if (up === existing) break;
    existing = up;
  }
  let isDir: boolean;
  try {
    isDir = statSync(existing).isDirectory();
  } catch (err) {
    throw new OptionError(`--data: cannot use "${dir}": ${existing}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
  }
  if (!isDir) throw new OptionError(`--data: cannot use "${dir}": ${existing} is not a directory`);
  try {
    accessSync(existing, constants.W_OK | constants.X_OK);
  } catch (err) {
    throw new OptionError(`--data: cannot use "${dir}": ${existing} is not writable (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  for (const path of missing) {
    try {
      mkdirSync(path);
    } catch (err) {
      throw new OptionError(`--data: cannot create "${path}": ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    }
  }
}

/** Reads LMDB's two meta pages without mapping the file (a damaged map is a SIGBUS or SIGSEGV, not an error). */
export function inspectDataFile(path: string): StoreFileFacts {
  const bytes = statSync(path).size;
  const damaged = (what: string) => new StoreDamagedError(`${path} is damaged (${what})`);
  if (bytes === 0) throw damaged('it is empty: 0 bytes');
  const head = Buffer.alloc(Math.min(bytes, 2 * LMDB.maxPageSize));
  const fd = openSync(path, 'r');
  try {
    readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  const meta = (base: number, which: string) => {
    if (base + LMDB.txnidAt + 8 > head.length) throw damaged(`it is ${bytes} bytes, too short for LMDB's ${which} meta page`);
    if (!(head.readUInt16LE(base + LMDB.pageFlagsAt) & LMDB.metaFlag) || head.readUInt32LE(base + LMDB.magicAt) !== LMDB.magic) {
      throw damaged(`no LMDB ${which} meta page at byte ${base}: not an LMDB file, or its head was overwritten`);
    }
    const version = head.readUInt32LE(base + LMDB.versionAt) & 0xffff;
    if (version !== LMDB.dataVersion) throw damaged(`LMDB data version ${version} in the ${which} meta page, expected ${LMDB.dataVersion}`);
    return {
      pageSize: head.readUInt32LE(base + LMDB.pageSizeAt),
      roots: [head.readBigUInt64LE(base + LMDB.freeRootAt), head.readBigUInt64LE(base + LMDB.mainRootAt)],
      lastPage: head.readBigUInt64LE(base + LMDB.lastPageAt),
      txnid: head.readBigUInt64LE(base + LMDB.txnidAt),
    };
  };
  const first = meta(0, 'first');
  const { pageSize } = first;
  if (pageSize < LMDB.minPageSize || pageSize > LMDB.maxPageSize || (pageSize & (pageSize - 1)) !== 0) throw damaged(`page size ${pageSize} in the meta page`);
  if (bytes % pageSize !== 0) throw damaged(`${bytes} bytes is not a whole number of ${pageSize}-byte pages: the file was cut`);
  const second = meta(pageSize, 'second');
  if (second.pageSize !== pageSize) throw damaged(`the meta pages disagree on the page size (${pageSize}, ${second.pageSize})`);
  const latest = second.txnid > first.txnid ? second : first;
  const pages = BigInt(bytes / pageSize);
  if (latest.lastPage + 1n > pages + BigInt(UNWRITTEN_TAIL_PAGES)) throw damaged(`it has ${pages} pages, but LMDB's last used page is ${latest.lastPage}: the file was cut`);
  for (const root of latest.roots) {
    if (root !== LMDB.invalidPage && root >= pages) throw damaged(`a B-tree root is page ${root}, past the file's ${pages} pages: the file was cut`);
  }
  const missingPages = Math.max(0, Number(latest.lastPage + 1n - pages));
  return { bytes, pageSize, lastPage: Number(latest.lastPage), txnid: Number(latest.txnid), missingPages };
}

/** What the probe counted in one read snapshot, and what the store's own counters say it holds. */
export interface StoreCounts {
  messages: number;
  dead: number;
  deadLetters: number;
  /** Ids ever generated and dead messages ever evicted (meta); both written in the same transactions as the records. */
  generated: number;
  evicted: number;
}

/**
 * Opens the store read-only in a child process and reads every record of every database in one
 * snapshot: a damaged page kills that child (SIGBUS, SIGSEGV) or fails there, never this process.
 * LMDB keeps no checksums, so an overwritten page can also read as a shorter B-tree without an error:
 * the counts catch that. Every message is generated with the meta counter in one transaction and leaves
 * only by eviction, counted the same way, and a dead letter is written and evicted with its dead
 * message. Undefined when all was read and the counts agree.
 */
export function probeStore(dir: string): string | undefined {
  const lmdb = createRequire(import.meta.url).resolve('lmdb');
  const code =
    `const { open } = require(${JSON.stringify(lmdb)});` +
    `const root = open({ path: process.argv[1], readOnly: true, maxDbs: 8 });` +
    `const meta = root.openDB({ name: 'meta' });` +
    `const c = { messages: 0, dead: 0, deadLetters: 0, generated: meta.get('generated') ?? 0, evicted: meta.get('evicted') ?? 0 };` +
    `for (const { value } of root.openDB({ name: 'messages' }).getRange({ snapshot: true })) { c.messages++; if (value.state === 'dead') c.dead++; }` +
    `for (const e of root.openDB({ name: 'dead-letters' }).getRange({ snapshot: true })) { void e.value; c.deadLetters++; }` +
    `for (const e of meta.getRange({ snapshot: true })) void e.value;` +
    `process.stdout.write(JSON.stringify(c));`;
  const result = spawnSync(process.execPath, ['-e', code, dir], { stdio: ['ignore', 'pipe', 'pipe'], timeout: PROBE_TIMEOUT_MS });
  if (result.signal) return `reading it killed a probe process with ${result.signal}`;
  if (result.status !== 0) {
    // Node prints the throwing source line before the error itself: name the error.
    const lines = result.stderr.toString().trim().split('\n');
    const last = lines.find((l) => /^\w*Error\b/.test(l)) ?? lines.find((l) => /Error/.test(l)) ?? `exit ${result.status}`;
    return `LMDB could not read it: ${last.slice(0, 200)}`;
  }
  return countsProblem(JSON.parse(result.stdout.toString()) as StoreCounts);
}

/** Why the counts show records lost, or undefined when they agree. */
export function countsProblem(c: StoreCounts): string | undefined {
  // A store written before the counter was kept has generated 0 and more messages: nothing to say.
  const expected = c.generated - c.evicted;
  if (c.messages < expected) return `${expected - c.messages} of its ${expected} messages cannot be found (${c.generated} generated, ${c.evicted} evicted): part of the file was overwritten`;
  if (c.deadLetters !== c.dead) return `it holds ${c.deadLetters} dead letters for ${c.dead} dead messages: part of the file was overwritten`;
  return undefined;
}

/** The marker if there is one; `present` also when it is unreadable (a store was there all the same). */
export function readMarker(dir: string): { present: boolean; marker?: StoreMarker } {
  const path = join(dir, MARKER_FILE);
  if (!existsSync(path)) return { present: false };
  try {
    const marker = JSON.parse(readFileSync(path, 'utf8')) as StoreMarker;
    return { present: true, marker: marker?.format === MARKER_FORMAT ? marker : undefined };
  } catch {
    return { present: true };
  }
}

/** Writes the marker atomically (a temporary file renamed over it). */
export function writeMarker(dir: string, fields: { records: number; bytes: number; createdAt?: string }): void {
  const now = new Date().toISOString();
  const marker: StoreMarker = { format: MARKER_FORMAT, createdAt: fields.createdAt ?? now, updatedAt: now, records: fields.records, bytes: fields.bytes };
  const path = join(dir, MARKER_FILE);
  writeFileSync(`${path}.tmp`, JSON.stringify(marker) + '\n');
  renameSync(`${path}.tmp`, path);
}

export type StoreCheck = { state: 'new' } | { state: 'existing'; facts: StoreFileFacts; marker?: StoreMarker };

/**
 * Checks the store in `dir` before LMDB opens it: no data.mdb is a new store unless the marker says one
 * was created there; a data.mdb must be a whole LMDB file. Damage throws StoreDamagedError: one line
 * naming the file and the way out.
 */
export function checkStore(dir: string): StoreCheck {
  const data = join(dir, DATA_FILE);
  const { present, marker } = readMarker(dir);
  const markerPath = join(dir, MARKER_FILE);
  const held = marker ? `${markerPath} says it held ${marker.records} records (${marker.bytes} bytes) at ${marker.updatedAt}` : `${markerPath} says a store was created here`;
  if (!existsSync(data)) {
    if (!present) return { state: 'new' };
    throw new StoreDamagedError(`${data} is missing, but ${held}: restore data.mdb from a backup, or remove ${markerPath} to start an empty store`);
  }
  let facts: StoreFileFacts;
  try {
    facts = inspectDataFile(data);
    const problem = probeStore(dir);
    if (problem) {
      const short = facts.missingPages > 0 ? `${facts.missingPages} pages short of LMDB's last used page, and ` : '';
      throw new StoreDamagedError(`${data} is damaged (${short}${problem})`);
    }
  } catch (err) {
    if (!(err instanceof StoreDamagedError)) throw new StoreDamagedError(`${data} cannot be read (${(err as Error).message})`);
    const known = present ? `; ${held}` : '';
    throw new StoreDamagedError(`${err.message}${known}: restore it from a backup, or move ${dir} away to start an empty store`);
  }
  return marker ? { state: 'existing', facts, marker } : { state: 'existing', facts };
}

/** An LMDB error met while opening or reading a store that passed checkStore: the same one line. */
export function damagedWhileReading(dir: string, err: unknown): StoreDamagedError {
  const why = err instanceof Error ? err.message.split('\n')[0] : String(err);
  return new StoreDamagedError(`${join(dir, DATA_FILE)} is damaged (LMDB: ${why}): restore it from a backup, or move ${dir} away to start an empty store`);
}
