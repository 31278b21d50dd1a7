import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const DIR = fileURLToPath(new URL('../../loadtest/', import.meta.url));
const scripts = readdirSync(DIR).filter((f) => f.endsWith('.js'));

/** Loads a k6 script in Node with the k6 modules stubbed, to exercise its own logic. */
async function loadWithStubs(file: string): Promise<Record<string, unknown>> {
  const source = readFileSync(`${DIR}/${file}`, 'utf8').replace(/^import .*$/gm, '');
  const stubs = 'const http = { post() {}, get() {} }; const check = () => true; const sleep = () => {}; class Counter { add() {} } class Trend { add() {} } class Rate { add() {} } const __ENV = {}; const __VU = 1; const __ITER = 0;\n';
  return import(`data:text/javascript,${encodeURIComponent(stubs + source)}`);
}

describe('k6 scripts in loadtest/', () => {
  it.each(scripts)('%s parses', (file) => {
    const result = spawnSync(process.execPath, ['--check', `${DIR}/${file}`], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('messenger.js declares thresholds and accepts only valid windows', async () => {
    const mod = await loadWithStubs('messenger.js');
    const options = mod.options as { thresholds: Record<string, string[]> };
    expect(Object.keys(options.thresholds)).toEqual(expect.arrayContaining(['http_req_failed', 'http_req_duration', 'messenger_window_violations']));
    const valid = mod.windowIsValid as (m: unknown[], s: string, t: string) => boolean;
    const msg = (seq: number, sender = 'a', text = `t${seq}`) => ({ seq, sender, text, sentAt: new Date(seq * 1000).toISOString(), userCount: 1 });
    expect(valid([msg(1)], 'a', 't1')).toBe(true);
    expect(valid([1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((s) => msg(s + 2)), 'a', 't12')).toBe(true);
    expect(valid([msg(1), msg(3)], 'a', 't3')).toBe(false); // gap
    expect(valid([msg(2), msg(3)], 'a', 't3')).toBe(false); // too short for seq 3
    expect(valid([msg(1)], 'b', 't1')).toBe(false); // not the caller's own
  });
});
