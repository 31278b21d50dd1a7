import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { MAIN } from '../helpers/netlab-process.js';

/**
 * The lab as a user sees it: run in a tmux pane of a given size (a real pseudo-terminal and terminal
 * emulator), then read the whole screen and its scrollback with `tmux capture-pane`.
 */
const hasTmux = spawnSync('tmux', ['-V'], { stdio: 'ignore' }).status === 0;
const SOCKET = `netlab-test-${process.pid}`;
const tmux = (...args: string[]) => spawnSync('tmux', ['-L', SOCKET, ...args], { encoding: 'utf8' });
const POLL_MS = 200;
const RUN_TIMEOUT_MS = 150_000;

const dirs: string[] = [];
afterAll(async () => {
  tmux('kill-server');
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

/** Everything the pane shows, scrollback included, wrapped lines joined. */
const screen = (pane: string) => tmux('capture-pane', '-p', '-J', '-S', '-', '-t', pane).stdout.replace(/\n+$/, '');

async function waitForScreen(pane: string, pattern: RegExp, timeoutMs = RUN_TIMEOUT_MS): Promise<string> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const text = screen(pane);
    if (pattern.test(text)) return text;
    if (Date.now() > until) throw new Error(`timed out waiting for ${pattern}; screen:\n${text}`);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

async function startInPane(name: string, columns: number, rows: number, args: string, env: Record<string, string> = {}): Promise<{ pane: string; cwd: string }> {
  const cwd = await mkdtemp(join(tmpdir(), 'netlab-lab-tty-'));
  await chmod(cwd, 0o755);
  dirs.push(cwd);
  const vars = Object.entries({ METRICS_PORT: '0', DATABASE_URL: '', NETLAB_LAB_LOCK: join(cwd, 'lab.lock'), ...env }).map(([k, v]) => `${k}='${v}'`).join(' ');
  const command = `cd '${cwd}' && env ${vars} '${process.execPath}' '${MAIN}' lab ${args}; echo "EXIT=$?"; sleep 3600`;
  const r = tmux('new-session', '-d', '-s', name, '-x', String(columns), '-y', String(rows), command);
  expect(r.status, r.stderr).toBe(0);
  return { pane: name, cwd };
}

const linesStarting = (text: string, word: string) => text.split('\n').filter((l) => new RegExp(`^${word}\\s`).test(l));

describe.skipIf(!hasTmux)('netlab lab on a terminal (tmux)', () => {
  for (const [columns, rows] of [
    [80, 24],
    [200, 50],
  ] as const) {
    it(`${columns}x${rows}: one line per experiment, none wider than the terminal, the report path at the end`, async () => {
      const { pane, cwd } = await startInPane(`lab${columns}`, columns, rows, '--quick --only pingpong,echo');
      const text = await waitForScreen(pane, /^EXIT=\d+/m);
      expect(text).toMatch(/^EXIT=0$/m);
      for (const name of ['pingpong', 'echo']) {
        const lines = linesStarting(text, name);
        expect(lines, text).toHaveLength(1);
        expect(lines[0]).toMatch(new RegExp(`^${name}\\s+PASS\\s`));
        expect([...lines[0]!].length).toBeLessThanOrEqual(columns);
      }
      expect(text.split('\n').filter((l) => l.startsWith('netlab lab --quick'))).toHaveLength(1);
      const report = /^report: (\S+)$/m.exec(text);
      expect(report, text).not.toBeNull();
      expect(text.indexOf('report:')).toBeGreaterThan(text.indexOf('echo '));
      expect(existsSync(join(cwd, report![1]!))).toBe(true);
    }, RUN_TIMEOUT_MS + 10_000);
  }

  it('Ctrl-C: the log line stays above, the running experiment reads INTERRUPTED, the report path is printed, exit 130; another lab holding the machine is named', async () => {
    const cwd0 = await mkdtemp(join(tmpdir(), 'netlab-lab-lock-'));
    dirs.push(cwd0);
    const lock = join(cwd0, 'lab.lock');
    // This test process stands for another lab: its pid is alive.
    await writeFile(lock, JSON.stringify({ pid: process.pid, startedAt: new Date().toISOString(), dir: '/elsewhere' }));
    const { pane, cwd } = await startInPane('labint', 80, 24, '--quick --only pingpong,echo', { NETLAB_LAB_LOCK: lock });
    await waitForScreen(pane, /^pingpong\s+running/m, 60_000);
    tmux('send-keys', '-t', pane, 'C-c');
    const text = await waitForScreen(pane, /^EXIT=\d+/m);
    expect(text).toMatch(/^EXIT=130$/m);
    expect(text).toMatch(/Another netlab lab \(pid \d+/);
    expect(text).toContain('shutting down (SIGINT)');
    expect(text.indexOf('shutting down (SIGINT)')).toBeLessThan(text.lastIndexOf('pingpong '));
    expect(linesStarting(text, 'pingpong')).toEqual([expect.stringMatching(/^pingpong\s+INTERRUPTED/)]);
    expect(linesStarting(text, 'echo')).toEqual([expect.stringMatching(/^echo\s+not run/)]);
    const report = /^report: (\S+)$/m.exec(text);
    expect(report, text).not.toBeNull();
    expect(existsSync(join(cwd, report![1]!))).toBe(true);
  }, RUN_TIMEOUT_MS + 10_000);
});
