import { NetlabError } from '../core/errors.js';

/** Limits of a posted message; the database enforces the same ones. */
export const MAX_SENDER_CHARS = 64;
export const MAX_TEXT_CHARS = 4096;
export const MAX_BODY_BYTES = 64 * 1024;
export const WINDOW_SIZE = 10;
export const HISTORY_DEFAULT_LIMIT = 50;
export const HISTORY_MAX_LIMIT = 1000;

/** One message as the API shows it. */
export interface MessageView {
  seq: number;
  sender: string;
  text: string;
  /** RFC 3339, UTC, milliseconds. */
  sentAt: string;
  userCount: number;
}

export interface MessagesResponse {
  messages: MessageView[];
}

export interface NewMessage {
  sender: string;
  text: string;
}

/** Characters as PostgreSQL's varchar counts them (code points, not UTF-16 units). */
const charCount = (s: string): number => {
  let n = 0;
  for (const _ of s) n++;
  return n;
};

function field(body: Record<string, unknown>, name: 'sender' | 'text', max: number): string {
  const value = body[name];
  if (value === undefined || value === null) throw bad(`"${name}" is required`);
  if (typeof value !== 'string') throw bad(`"${name}" must be a string`);
  if (value.length === 0) throw bad(`"${name}" must not be empty`);
  if (value.length > max && charCount(value) > max) throw bad(`"${name}" must be at most ${max} characters`);
  if (value.includes('\u0000')) throw bad(`"${name}" must not contain NUL characters`);
  // A \ud800 escape parses to half a UTF-16 pair, which has no UTF-8 form: PostgreSQL would get U+FFFD.
  if (LONE_SURROGATE.test(value)) throw bad(`"${name}" must be valid Unicode: it has a lone surrogate (an unpaired \\ud800-\\udfff escape)`);
  return value;
}

const bad = (message: string) => new NetlabError('NETLAB_ERR_BAD_REQUEST', message);
/** In a `u` regex a well-formed pair is one code point, so only a lone half matches. */
const LONE_SURROGATE = /\p{Surrogate}/u;

/**
 * Checks a POST's Content-Type: `application/json`, with no charset or `charset=utf-8` (JSON is UTF-8,
 * RFC 8259). Anything else is 415: a body in another charset would be stored garbled.
 */
export function checkContentType(header: string | undefined): void {
  const [type = '', ...params] = (header ?? '').split(';');
  if (type.trim().toLowerCase() !== 'application/json') throw new NetlabError('NETLAB_ERR_UNSUPPORTED_MEDIA_TYPE', 'Content-Type must be application/json');
  for (const param of params) {
    const [key = '', value = ''] = param.split('=');
    if (key.trim().toLowerCase() !== 'charset') continue;
    const charset = value.trim().replace(/^"(.*)"$/, '$1').toLowerCase();
    if (charset !== 'utf-8' && charset !== 'utf8') {
      throw new NetlabError('NETLAB_ERR_UNSUPPORTED_MEDIA_TYPE', `charset must be utf-8, got "${charset}"`);
    }
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Decodes a body as UTF-8, refusing (400) bytes that are not UTF-8 instead of storing U+FFFD for them. */
export function decodeUtf8(body: Uint8Array): string {
  try {
    return utf8.decode(body);
  } catch {
    throw bad('body is not valid UTF-8');
  }
}

/** Validates a parsed POST /messages body; throws a 400 NetlabError naming the problem. */
export function parseNewMessage(body: unknown): NewMessage {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw bad('body must be a JSON object with "sender" and "text"');
  const record = body as Record<string, unknown>;
  return { sender: field(record, 'sender', MAX_SENDER_CHARS), text: field(record, 'text', MAX_TEXT_CHARS) };
}

export function parseHistoryQuery(limitText: string | undefined, beforeText: string | undefined): { limit: number; before?: number } {
  const limit = limitText === undefined ? HISTORY_DEFAULT_LIMIT : Number(limitText);
  if (!Number.isInteger(limit) || limit < 1 || limit > HISTORY_MAX_LIMIT || !/^\d+$/.test(limitText ?? '1')) {
    throw bad(`"limit" must be a whole number from 1 to ${HISTORY_MAX_LIMIT}`);
  }
  if (beforeText === undefined) return { limit };
  const before = Number(beforeText);
  if (!/^\d+$/.test(beforeText) || !Number.isSafeInteger(before) || before < 1) throw bad('"before" must be a positive whole number (a seq)');
  return { limit, before };
}
