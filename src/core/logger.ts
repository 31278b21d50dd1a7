import { writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { hostname } from 'node:os';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import type pretty from 'pino-pretty';
import { EXIT_FAILED } from './exit-codes.js';

export type { Logger } from 'pino';

/**
 * pino JSON to stdout (or stderr: `fd` 2, for commands whose stdout is their output); human-readable
 * (synchronously, no worker thread) when that stream is a terminal.
 */
export function createLogger(role: string, level = 'info', fd: 1 | 2 = 1): Logger {
  const options = { level, base: { role, pid: process.pid, hostname: hostname() }, timestamp: pino.stdTimeFunctions.isoTime };
  if ((fd === 1 ? process.stdout : process.stderr).isTTY) {
    // Loaded only on a terminal: it weighs tens of MB that every server process would carry.
    const prettyStream = createRequire(import.meta.url)('pino-pretty') as typeof pretty;
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        if (terminalSink) terminalSink(chunk.toString());
        else writeSync(fd, chunk);
        done();
      },
    });
    return pino(options, prettyStream({ sync: true, colorize: true, ignore: 'pid,hostname', translateTime: 'SYS:HH:MM:ss.l', destination }));
  }
  return pino(options, pino.destination({ dest: fd, sync: true }));
}

let terminalSink: ((text: string) => void) | undefined;

/**
 * Sends the pretty lines that loggers write to a terminal through `sink` instead (undefined: straight to
 * the terminal again). The lab's live display prints them above its redrawn lines, so neither overwrites
 * the other. Loggers that write JSON to a file or pipe are not affected.
 */
export function routeTerminalLogs(sink: ((text: string) => void) | undefined): void {
  terminalSink = sink;
}

/**
 * An uncaught exception or unhandled rejection is logged as one JSON line at level fatal, with the
 * error under `err` (type, message, stack), then the process exits 1. The destination is synchronous,
 * so the line is written before the exit.
 */
export function logFatalErrors(logger: Logger, exit: (code: number) => void = (code) => process.exit(code)): void {
  const fatal = (what: string) => (err: unknown) => {
    logger.fatal({ err }, `${what}: ${err instanceof Error ? err.message : String(err)}`);
    exit(EXIT_FAILED);
  };
  process.on('uncaughtException', fatal('uncaught exception'));
  process.on('unhandledRejection', fatal('unhandled rejection'));
}
