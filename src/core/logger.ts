import { createRequire } from 'node:module';
import { pino, type Logger } from 'pino';
import type pretty from 'pino-pretty';

export type { Logger } from 'pino';

/** pino JSON to stdout; human-readable (synchronously, no worker thread) when stdout is a terminal. */
export function createLogger(role: string, level = 'info'): Logger {
  const options = { level, base: { role }, timestamp: pino.stdTimeFunctions.isoTime };
  if (process.stdout.isTTY) {
    // Loaded only on a terminal: it weighs tens of MB that every server process would carry.
    const prettyStream = createRequire(import.meta.url)('pino-pretty') as typeof pretty;
    return pino(options, prettyStream({ sync: true, colorize: true, ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss.l' }));
  }
  return pino(options, pino.destination({ dest: 1, sync: true }));
}
