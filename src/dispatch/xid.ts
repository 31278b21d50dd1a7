import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';

/**
 * Globally unique, time-sortable ids in the rs/xid format: 12 bytes (4-byte big-endian Unix
 * seconds, 3-byte machine id, 2-byte process id, 3-byte counter) written as 20 characters of
 * base32hex (lowercase, no padding). Ids from one process sort by creation order (per second,
 * then by counter), which makes them good LMDB keys and cursors.
 */
export const XID_LENGTH = 20;
const RAW_LENGTH = 12;
const ALPHABET = '0123456789abcdefghijklmnopqrstuv';
const DECODE = new Map([...ALPHABET].map((c, i) => [c, i]));
const COUNTER_MASK = 0xffffff;
export const XID_PATTERN = /^[0-9a-v]{20}$/;

/** Where rs/xid reads a stable machine id on Linux; the hostname stands in when absent. */
const MACHINE_ID_FILES = ['/etc/machine-id', '/sys/class/dmi/id/product_uuid'];

function machineId(): Buffer {
  let seed = '';
  for (const file of MACHINE_ID_FILES) {
    try {
      seed = readFileSync(file, 'utf8').trim();
      if (seed) break;
    } catch {
      // not readable here: try the next source
    }
  }
  if (!seed) seed = hostname();
  return createHash('md5').update(seed).digest().subarray(0, 3);
}

const MACHINE = machineId();
let counter = randomBytes(3).readUIntBE(0, 3);

/** The raw 12 bytes of a new id for `time` (default now). */
export function newXidBytes(time: Date = new Date()): Buffer {
  const raw = Buffer.alloc(RAW_LENGTH);
  raw.writeUInt32BE(Math.floor(time.getTime() / 1000) >>> 0, 0);
  MACHINE.copy(raw, 4);
  raw.writeUInt16BE(process.pid & 0xffff, 7);
  counter = (counter + 1) & COUNTER_MASK;
  raw.writeUIntBE(counter, 9, 3);
  return raw;
}

/** A new id as its 20-character string. */
export function newXid(time?: Date): string {
  return encodeXid(newXidBytes(time));
}

/** base32hex of 12 bytes read as one big-endian bit string; the last character holds 1 bit. */
export function encodeXid(raw: Uint8Array): string {
  if (raw.length !== RAW_LENGTH) throw new RangeError(`an xid is ${RAW_LENGTH} bytes, got ${raw.length}`);
  let out = '';
  let bits = 0;
  let value = 0;
  for (const byte of raw) {
    value = ((value << 8) | byte) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

/** The 12 bytes of an id, or undefined when `text` is not a well-formed xid. */
export function decodeXid(text: string): Buffer | undefined {
  if (!XID_PATTERN.test(text)) return undefined;
  const raw = Buffer.alloc(RAW_LENGTH);
  let bits = 0;
  let value = 0;
  let at = 0;
  for (const c of text) {
    value = ((value << 5) | DECODE.get(c)!) & 0xffff;
    bits += 5;
    if (bits >= 8) {
      if (at < RAW_LENGTH) raw[at++] = (value >>> (bits - 8)) & 0xff;
      bits -= 8;
    }
  }
  // The 4 padding bits of the last character must be zero, or two strings would name one id.
  if ((value & ((1 << bits) - 1)) !== 0) return undefined;
  return raw;
}

export const isXid = (text: string): boolean => decodeXid(text) !== undefined;

/** The parts of an id, as rs/xid exposes them. */
export function xidParts(text: string): { time: Date; machine: Buffer; pid: number; counter: number } | undefined {
  const raw = decodeXid(text);
  if (!raw) return undefined;
  return { time: new Date(raw.readUInt32BE(0) * 1000), machine: raw.subarray(4, 7), pid: raw.readUInt16BE(7), counter: raw.readUIntBE(9, 3) };
}
