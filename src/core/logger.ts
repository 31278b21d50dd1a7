import { pino, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger } from 'pino';

/** pino JSON to stdout; human-readable (synchronously, no worker thread) when stdout is a terminal. */
export function createLogger(role: string, level = 'info'): Logger {
  const options = { level, base: { role }, timestamp: pino.stdTimeFunctions.isoTime };
  if (process.stdout.isTTY) {
    return pino(options, pretty({ sync: true, colorize: true, ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss.l' }));
  }
  return pino(options, pino.destination({ dest: 1, sync: true }));
}
