/**
 * How many terminal columns a string takes: ANSI escape sequences take none, combining marks and
 * zero-width characters none, East Asian wide and fullwidth characters and most emoji two, everything
 * else one. (The rules of sindresorhus/string-width, cut down to what a status line can hold.)
 */

// CSI (colours, cursor moves) and OSC (hyperlinks) sequences; the control characters are the point.
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)/y;
// eslint-disable-next-line no-control-regex
const ZERO_WIDTH = /[\p{Mn}\p{Me}\p{Cf}\u200b\u0000-\u001f\u007f-\u009f]/u;
const EMOJI = /\p{Extended_Pictographic}/u;

/** True for code points a terminal draws two columns wide. */
function isWide(cp: number): boolean {
  return (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0x303e) ||
    (cp >= 0x3041 && cp <= 0x33ff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0xa000 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1f64f) ||
    (cp >= 0x1f900 && cp <= 0x1f9ff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  );
}

function charWidth(ch: string): number {
  if (ZERO_WIDTH.test(ch)) return 0;
  const cp = ch.codePointAt(0)!;
  if (isWide(cp) || (cp >= 0x1f000 && EMOJI.test(ch))) return 2;
  return 1;
}

/** Splits into ANSI sequences (width 0) and characters (code points). */
function* pieces(text: string): Generator<{ text: string; width: number }> {
  let i = 0;
  while (i < text.length) {
    ANSI.lastIndex = i;
    const m = ANSI.exec(text);
    if (m) {
      yield { text: m[0], width: 0 };
      i += m[0].length;
      continue;
    }
    const ch = String.fromCodePoint(text.codePointAt(i)!);
    yield { text: ch, width: charWidth(ch) };
    i += ch.length;
  }
}

export function displayWidth(text: string): number {
  let w = 0;
  for (const p of pieces(text)) w += p.width;
  return w;
}

/**
 * The longest start of `text` that fits in `columns`, ending in "…" when something was cut. ANSI
 * sequences are kept (a colour is still reset after the cut).
 */
export function cutToWidth(text: string, columns: number): string {
  if (displayWidth(text) <= columns) return text;
  if (columns <= 0) return '';
  let out = '';
  let w = 0;
  let ansi = false;
  for (const p of pieces(text)) {
    if (p.width === 0) {
      if (p.text.startsWith('\x1b')) ansi = true;
      if (p.text.startsWith('\x1b') || w < columns - 1) out += p.text;
      continue;
    }
    if (w + p.width > columns - 1) break;
    out += p.text;
    w += p.width;
  }
  return out + '…' + (ansi ? '\x1b[0m' : '');
}

/** `text` padded with spaces to `columns` display columns. */
export function padToWidth(text: string, columns: number): string {
  return text + ' '.repeat(Math.max(0, columns - displayWidth(text)));
}
