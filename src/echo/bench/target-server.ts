import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { NETLAB_MAIN, ProcessWaitError, startProcess } from '../../core/child-process.js';
import { freePort } from '../../core/net.js';
import { MODEL_DESCRIPTIONS, type EchoModel } from '../models.js';

/** A server under test that did not print its listening line within this long failed to start. */
export const SERVER_START_TIMEOUT_MS = 20_000;
/** After SIGTERM a server gets this long before SIGKILL. */
export const SERVER_STOP_TIMEOUT_MS = 5000;
/** Output kept from a server process, for the error message when it dies. */
const OUTPUT_TAIL_CHARS = 2000;

const BASELINE_DIR = fileURLToPath(new URL('../../../bench/baselines/', import.meta.url));

export const PYTHON_BASELINES = {
  'python-threaded': { file: 'threaded_echo.py', description: 'Python: one thread per connection, blocking sockets (stdlib)' },
  'python-asyncio': { file: 'asyncio_echo.py', description: 'Python: asyncio streams, one event loop (stdlib)' },
} as const;
export type PythonBaseline = keyof typeof PYTHON_BASELINES;

/** One server the bench measures: a netlab model or a baseline, and how to start it on a port. */
export interface BenchTarget {
  name: string;
  kind: 'netlab' | 'baseline';
  description: string;
  command(port: number): string[];
}

export function netlabTarget(model: EchoModel, host: string, workers: number): BenchTarget {
  return {
    name: model,
    kind: 'netlab',
    description: MODEL_DESCRIPTIONS[model],
    command: (port) => [process.execPath, NETLAB_MAIN, 'echo-server', '--model', model, '--host', host, '--port', String(port), '--workers', String(workers), '--metrics-port', '0', '--grace', '2s', '--log-level', 'info'],
  };
}

export function pythonTarget(name: PythonBaseline, python: string, host: string): BenchTarget {
  const script = BASELINE_DIR + PYTHON_BASELINES[name].file;
  return { name, kind: 'baseline', description: PYTHON_BASELINES[name].description, command: (port) => [python, script, '--host', host, '--port', String(port)] };
}

/** Why the Python baselines cannot run here, or undefined when they can. */
export function pythonUnavailable(python: string): string | undefined {
  for (const { file } of Object.values(PYTHON_BASELINES)) if (!existsSync(BASELINE_DIR + file)) return `${BASELINE_DIR + file} is missing`;
  try {
    execFileSync(python, ['--version'], { stdio: 'ignore', timeout: 5000 });
    return undefined;
  } catch {
    return `${python} not found`;
  }
}

export interface RunningServer {
  pid: number;
  port: number;
  commandLine: string;
  stop(): Promise<void>;
}

/** Starts the target on a free port and resolves once it printed a line containing "listening". */
export async function startTarget(target: BenchTarget, host: string): Promise<RunningServer> {
  const port = await freePort(host);
  const [cmd, ...args] = target.command(port);
  const server = startProcess(cmd!, args, { env: { ...process.env, PYTHONUNBUFFERED: '1' }, keepChars: OUTPUT_TAIL_CHARS });
  try {
    await server.waitFor(/listening on/i, SERVER_START_TIMEOUT_MS);
  } catch (err) {
    const why =
      err instanceof ProcessWaitError && err.kind === 'timeout' ? `did not start listening within ${SERVER_START_TIMEOUT_MS} ms`
      : err instanceof ProcessWaitError && err.kind === 'exited' ? `exited with code ${err.exitCode}`
      : ((err as Error).cause as Error | undefined)?.message ?? (err as Error).message;
    server.kill('SIGKILL');
    throw new Error(`${target.name} server ${why}: ${server.tail()}`, { cause: err });
  }
  return {
    pid: server.pid!,
    port,
    commandLine: [cmd, ...args].join(' '),
    async stop() {
      await server.stop('SIGTERM', SERVER_STOP_TIMEOUT_MS);
    },
  };
}
