import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { MODEL_DESCRIPTIONS, type EchoModel } from './models.js';

/** A server under test that did not print its listening line within this long failed to start. */
export const SERVER_START_TIMEOUT_MS = 20_000;
/** After SIGTERM a server gets this long before SIGKILL. */
export const SERVER_STOP_TIMEOUT_MS = 5000;
/** Output kept from a server process, for the error message when it dies. */
const OUTPUT_TAIL_CHARS = 2000;

const MAIN = fileURLToPath(new URL('../main.js', import.meta.url));
const BASELINE_DIR = fileURLToPath(new URL('../../bench/baselines/', import.meta.url));

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
    command: (port) => [process.execPath, MAIN, 'echo-server', '--model', model, '--host', host, '--port', String(port), '--workers', String(workers), '--metrics-port', '0', '--grace', '2s', '--log-level', 'info'],
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

export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host, port: 0 }, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const running = new Set<ChildProcess>();
// Servers must not outlive the bench, even when it exits early.
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

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
  const child = spawn(cmd!, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, PYTHONUNBUFFERED: '1' } });
  running.add(child);
  let output = '';
  let onEarlyExit: ((code: number | null) => void) | undefined;
  const exited = new Promise<void>((resolve) => child.once('exit', () => (running.delete(child), resolve())));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => fail(`did not start listening within ${SERVER_START_TIMEOUT_MS} ms`), SERVER_START_TIMEOUT_MS);
    const onOutput = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-OUTPUT_TAIL_CHARS);
      if (/listening on/i.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    };
    function fail(why: string) {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${target.name} server ${why}: ${output.trim().split('\n').slice(-3).join(' | ')}`));
    }
    child.stdout!.on('data', onOutput);
    child.stderr!.on('data', onOutput);
    child.once('error', (err) => fail(err.message));
    onEarlyExit = (code) => fail(`exited with code ${code}`);
    child.once('exit', onEarlyExit);
  });
  child.off('exit', onEarlyExit!);
  return {
    pid: child.pid!,
    port,
    commandLine: [cmd, ...args].join(' '),
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), SERVER_STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    },
  };
}
