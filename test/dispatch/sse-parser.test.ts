import { describe, expect, it } from 'vitest';
import { formatMessageEvent, formatSseEvent, SSE_PING } from '../../src/dispatch/protocol.js';
import { SseParser, type SseItem } from '../../src/dispatch/sse-parser.js';

const feedAll = (chunks: string[]): SseItem[] => {
  const p = new SseParser();
  return chunks.flatMap((c) => p.feed(c));
};

describe('SSE framing', () => {
  const stream =
    formatSseEvent('hello', '{"client":"c1","batchsize":2}') +
    formatMessageEvent({ id: 'dc14aa2jueqh1h6kodr0', period: 7 }) +
    SSE_PING +
    formatMessageEvent({ id: 'dc14aa2jueqh1h6kodrg', period: 1000 });

  it('writes hello, msg (id line = message id) and ping exactly as the protocol says', () => {
    expect(stream).toBe(
      'event: hello\ndata: {"client":"c1","batchsize":2}\n\n' +
        'event: msg\nid: dc14aa2jueqh1h6kodr0\ndata: {"id":"dc14aa2jueqh1h6kodr0","period":7}\n\n' +
        ': ping\n\n' +
        'event: msg\nid: dc14aa2jueqh1h6kodrg\ndata: {"id":"dc14aa2jueqh1h6kodrg","period":1000}\n\n',
    );
  });

  it('parses the events and the comment, whole or split at every position', () => {
    const expected: SseItem[] = [
      { type: 'event', event: { event: 'hello', data: '{"client":"c1","batchsize":2}' } },
      { type: 'event', event: { event: 'msg', id: 'dc14aa2jueqh1h6kodr0', data: '{"id":"dc14aa2jueqh1h6kodr0","period":7}' } },
      { type: 'comment', text: 'ping' },
      { type: 'event', event: { event: 'msg', id: 'dc14aa2jueqh1h6kodrg', data: '{"id":"dc14aa2jueqh1h6kodrg","period":1000}' } },
    ];
    expect(feedAll([stream])).toEqual(expected);
    for (let i = 1; i < stream.length; i++) expect(feedAll([stream.slice(0, i), stream.slice(i)])).toEqual(expected);
    expect(feedAll([...stream])).toEqual(expected);
  });

  it('handles CRLF and CR line ends (also a CRLF split between chunks), multi-line data, BOM, defaults', () => {
    expect(feedAll(['\ufeffdata: a\r\ndata: b\r', '\n\r\n'])).toEqual([{ type: 'event', event: { event: 'message', data: 'a\nb' } }]);
    expect(feedAll(['data:x\rretry: 5\r\r'])).toEqual([{ type: 'event', event: { event: 'message', data: 'x', retry: 5 } }]);
  });

  it('ignores events without data and unknown fields; an incomplete event is not emitted', () => {
    expect(feedAll(['event: msg\n\nfoo: bar\ndata: 1\n\n', 'data: 2\n'])).toEqual([{ type: 'event', event: { event: 'message', data: '1' } }]);
  });
});
