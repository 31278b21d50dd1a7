import { createRequire } from 'node:module';
import { pino, type Logger } from 'pino';
import type pretty from 'pino-pretty';

export type { Logger } from 'pino';

/**
 * pino JSON to stdout (or stderr: `fd` 2, for commands whose stdout is their output); human-readable
 * (synchronously, no worker thread) when that stream is a terminal.
 */
export function createLogger(role: string, level = 'info', fd: 1 | 2 = 1): Logger {
  const options = { level, base: { role }, timestamp: pino.stdTimeFunctions.isoTime };
  if ((fd === 1 ? process.stdout : process.stderr).isTTY) {
    // Loaded only on a terminal: it weighs tens of MB that every server process would carry.
    const prettyStream = createRequire(import.meta.url)('pino-pretty') as typeof pretty;
    return pino(options, prettyStream({ sync: true, colorize: true, ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss.l', destination: fd }));
  }
  return pino(options, pino.destination({ dest: fd, sync: true }));
}
