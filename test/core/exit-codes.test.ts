import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import * as exitCodes from '../../src/core/exit-codes.js';
import { EXIT_CODES, EXIT_FAILED, EXIT_OK, EXIT_SIGINT, EXIT_SIGTERM, exitCodeForSignal } from '../../src/core/exit-codes.js';
import { Lifecycle } from '../../src/core/lifecycle.js';
import { silentLogger } from '../helpers/logger.js';

const doc = readFileSync(new URL('../../docs/operations.md', import.meta.url), 'utf8');
/** The "## Exit codes" section, up to the next section. */
const section = doc.slice(doc.indexOf('\n## Exit codes\n'), doc.indexOf('\n## ', doc.indexOf('\n## Exit codes\n') + 1));
const rows = section.split('\n').filter((l) => /^\| \d+ \|/.test(l));

describe('exit codes', () => {
  it('lists every EXIT_* constant of the module once, each code with one meaning', () => {
    const exported = Object.entries(exitCodes).filter(([k, v]) => k.startsWith('EXIT_') && typeof v === 'number');
    expect(EXIT_CODES.map((e) => [e.name, e.code]).sort()).toEqual(exported.sort());
    expect(new Set(EXIT_CODES.map((e) => e.code)).size).toBe(EXIT_CODES.length);
  });

  it('are each a row of the table in docs/operations.md, with the constant and its meaning', () => {
    for (const { code, name, meaning } of EXIT_CODES) {
      const row = rows.find((l) => l.startsWith(`| ${code} |`));
      expect(row, `exit code ${code} is documented`).toBeDefined();
      expect(row).toContain(`| \`${name}\` |`);
      expect(row).toContain(meaning);
    }
  });

  it('the table names no code the module lacks', () => {
    expect(rows.length).toBeGreaterThan(0);
    const documented = rows.map((l) => Number(/^\| (\d+) \|/.exec(l)![1]));
    expect(documented.sort((a, b) => a - b)).toEqual(EXIT_CODES.map((e) => e.code).sort((a, b) => a - b));
  });

  it('a signal is 128 + its number; a name that is no signal is a failure', () => {
    expect(exitCodeForSignal('SIGINT')).toBe(EXIT_SIGINT);
    expect(exitCodeForSignal('SIGTERM')).toBe(EXIT_SIGTERM);
    expect(exitCodeForSignal('SIGKILL')).toBe(137);
    expect(exitCodeForSignal('failed')).toBe(EXIT_FAILED);
  });
});

describe('Lifecycle signal handlers', () => {
  const saved = { SIGTERM: process.listeners('SIGTERM'), SIGINT: process.listeners('SIGINT') };
  afterEach(() => {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.removeAllListeners(signal);
      for (const l of saved[signal]) process.on(signal, l);
    }
  });

  /** A lifecycle whose one shutdown step waits until released; the exit codes it asks for are collected. */
  function held() {
    for (const signal of ['SIGTERM', 'SIGINT'] as const) process.removeAllListeners(signal);
    const lifecycle = new Lifecycle(silentLogger, 60_000);
    let release!: () => void;
    const step = new Promise<void>((r) => (release = r));
    let started!: () => void;
    const stepStarted = new Promise<void>((r) => (started = r));
    lifecycle.onShutdown('held', () => {
      started();
      return step;
    });
    const exits: number[] = [];
    let exited!: () => void;
    const lastExit = new Promise<void>((r) => (exited = r));
    lifecycle.installSignalHandlers((code) => {
      exits.push(code);
      if (exits.length === 2) exited();
    });
    return { lifecycle, exits, release, stepStarted, lastExit };
  }

  for (const [signal, code] of [['SIGTERM', EXIT_SIGTERM], ['SIGINT', EXIT_SIGINT]] as const) {
    it(`a second ${signal} during the graceful shutdown exits at once with ${code}`, async () => {
      const h = held();
      process.emit(signal, signal);
      await h.stepStarted;
      process.emit(signal, signal);
      expect(h.exits).toEqual([code]);
      h.release();
      await h.lastExit;
      expect(h.exits).toEqual([code, EXIT_OK]); // the first signal's clean shutdown (process.exit would have ended it before)
    });
  }
});
