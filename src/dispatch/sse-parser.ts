/**
 * Incremental parser for `text/event-stream` (the WHATWG rules a browser's EventSource follows):
 * feed it text as it arrives, in chunks cut anywhere, and it returns the complete events. It never
 * touches a socket, so tests can feed it exact bytes.
 */
export interface SseEvent {
  /** `event:` field, "message" when absent. */
  event: string;
  data: string;
  /** `id:` field of this event, if it had one. */
  id?: string;
  retry?: number;
}

export type SseItem = { type: 'event'; event: SseEvent } | { type: 'comment'; text: string };

/** A line longer than this (no newline in sight) means the peer is not speaking SSE. */
export const MAX_SSE_LINE = 1024 * 1024;

export class SseParser {
  private buffer = '';
  private sawCr = false;
  private eventType = '';
  private data: string[] = [];
  private id: string | undefined;
  private retry: number | undefined;
  private first = true;

  /** Parses `chunk` and returns what it completed. */
  feed(chunk: string): SseItem[] {
    const out: SseItem[] = [];
    let text = chunk;
    if (this.first && text.length > 0) {
      this.first = false;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    // A \r\n split across two chunks: the \n belongs to the line the \r already ended.
    if (this.sawCr && text.startsWith('\n')) text = text.slice(1);
    this.sawCr = false;
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      const line = this.buffer + text.slice(start, i);
      this.buffer = '';
      if (c === 13) {
        if (i + 1 < text.length) {
          if (text.charCodeAt(i + 1) === 10) i++;
        } else this.sawCr = true;
      }
      start = i + 1;
      this.line(line, out);
    }
    this.buffer += text.slice(start);
    if (this.buffer.length > MAX_SSE_LINE) throw new Error(`event-stream line over ${MAX_SSE_LINE} characters`);
    return out;
  }

  private line(line: string, out: SseItem[]): void {
    if (line === '') {
      if (this.data.length > 0) {
        const event: SseEvent = { event: this.eventType || 'message', data: this.data.join('\n') };
        if (this.id !== undefined) event.id = this.id;
        if (this.retry !== undefined) event.retry = this.retry;
        out.push({ type: 'event', event });
      }
      this.eventType = '';
      this.data = [];
      this.id = undefined;
      this.retry = undefined;
      return;
    }
    if (line.startsWith(':')) {
      out.push({ type: 'comment', text: line.slice(1).replace(/^ /, '') });
      return;
    }
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'event':
        this.eventType = value;
        break;
      case 'data':
        this.data.push(value);
        break;
      case 'id':
        if (!value.includes('\0')) this.id = value;
        break;
      case 'retry':
        if (/^\d+$/.test(value)) this.retry = Number(value);
        break;
      default:
        // unknown fields are ignored, as the spec says
    }
  }
}
