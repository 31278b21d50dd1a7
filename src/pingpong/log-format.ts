/**
 * The exercise's log lines, `;`-separated, one per completed event:
 *   server.log   date;request_time;request_text;response_time;response_text
 *   clientN.log  date;send_time;request_text;response_time;response_text
 * Dates are YYYY-MM-DD and times HH:MM:SS.mmm in the local time zone. An ignored request (server)
 * or a timed-out one (client) carries a marker in both response fields; a keepalive (client) has
 * empty request fields.
 */

export const MARKER_SETS = {
  ru: { ignored: '(проигнорировано)', timeout: '(таймаут)' },
  en: { ignored: '(ignored)', timeout: '(timeout)' },
} as const;
export type MarkerSetName = keyof typeof MARKER_SETS;
export type Markers = { readonly ignored: string; readonly timeout: string };
export const MARKER_SET_NAMES = Object.keys(MARKER_SETS) as [MarkerSetName, ...MarkerSetName[]];

const pad = (n: number, width = 2): string => String(n).padStart(width, '0');

export const formatDate = (d: Date): string => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
export const formatTime = (d: Date): string =>
  `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;

const line = (fields: readonly string[]): string => fields.join(';');

export const serverAnsweredLine = (requestAt: Date, requestText: string, responseAt: Date, responseText: string): string =>
  line([formatDate(requestAt), formatTime(requestAt), requestText, formatTime(responseAt), responseText]);

export const serverIgnoredLine = (requestAt: Date, requestText: string, markers: Markers): string =>
  line([formatDate(requestAt), formatTime(requestAt), requestText, markers.ignored, markers.ignored]);

export const clientAnsweredLine = (sentAt: Date, requestText: string, responseAt: Date, responseText: string): string =>
  line([formatDate(sentAt), formatTime(sentAt), requestText, formatTime(responseAt), responseText]);

export const clientTimeoutLine = (sentAt: Date, requestText: string, markers: Markers): string =>
  line([formatDate(sentAt), formatTime(sentAt), requestText, markers.timeout, markers.timeout]);

export const clientKeepaliveLine = (receivedAt: Date, text: string): string => line([formatDate(receivedAt), '', '', formatTime(receivedAt), text]);

// ---- Reading logs back (the orchestrator's checks and the tests) ----

const DATE = '(\\d{4}-\\d{2}-\\d{2})';
const TIME = '(\\d{2}:\\d{2}:\\d{2}\\.\\d{3})';
const N = '(\\d+)';
const escape = (s: string): string => s.replace(/[()[\]\\.^$|?*+{}]/g, '\\$&');

/** A parsed log line; times are milliseconds since local midnight of `date`. */
export type LogEntry =
  | { kind: 'answered'; date: string; requestMs: number; n: number; responseMs: number; k: number; answerN: number; id: number }
  | { kind: 'ignored'; date: string; requestMs: number; n: number }
  | { kind: 'timeout'; date: string; requestMs: number; n: number }
  | { kind: 'keepalive'; date: string; responseMs: number; k: number };

export function timeOfDayMs(time: string): number {
  const [h, m, rest] = time.split(':');
  return (Number(h) * 3600 + Number(m) * 60) * 1000 + Math.round(Number(rest) * 1000);
}

export function logLineParser(markers: Markers, side: 'server' | 'client'): (text: string) => LogEntry | undefined {
  const answered = new RegExp(`^${DATE};${TIME};\\[${N}\\] PING;${TIME};\\[${N}/${N}\\] PONG \\(${N}\\)$`);
  const unanswered = side === 'server' ? markers.ignored : markers.timeout;
  const missing = new RegExp(`^${DATE};${TIME};\\[${N}\\] PING;${escape(unanswered)};${escape(unanswered)}$`);
  const keepalive = new RegExp(`^${DATE};;;${TIME};\\[${N}\\] keepalive$`);
  return (text) => {
    let m = answered.exec(text);
    if (m) {
      return {
        kind: 'answered',
        date: m[1]!,
        requestMs: timeOfDayMs(m[2]!),
        n: Number(m[3]),
        responseMs: timeOfDayMs(m[4]!),
        k: Number(m[5]),
        answerN: Number(m[6]),
        id: Number(m[7]),
      };
    }
    m = missing.exec(text);
    if (m) return { kind: side === 'server' ? 'ignored' : 'timeout', date: m[1]!, requestMs: timeOfDayMs(m[2]!), n: Number(m[3]) };
    if (side === 'client') {
      m = keepalive.exec(text);
      if (m) return { kind: 'keepalive', date: m[1]!, responseMs: timeOfDayMs(m[2]!), k: Number(m[3]) };
    }
    return undefined;
  };
}

/** Time from request to response in ms, across midnight if the response's clock reads earlier. */
export const elapsedMs = (fromMs: number, toMs: number): number => (toMs >= fromMs ? toMs - fromMs : toMs + 86_400_000 - fromMs);
