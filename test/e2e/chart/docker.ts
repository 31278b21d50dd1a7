/** The docker CLI, asynchronously: every call a real `docker` process against this machine's dockerd. */
import { execFile, spawnSync } from 'node:child_process';

export interface DockerResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Output of one docker call can be a container's whole log. */
const MAX_OUTPUT_BYTES = 64 * 1024 * 1024;

export function docker(args: string[], timeoutMs = 120_000): Promise<DockerResult> {
  return new Promise((resolve) => {
    execFile('docker', args, { encoding: 'utf8', maxBuffer: MAX_OUTPUT_BYTES, timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as NodeJS.ErrnoException).code === 'number' ? Number((err as NodeJS.ErrnoException).code) : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** Like docker(), but throws with docker's own message when the call fails. */
export async function dockerOk(args: string[], timeoutMs?: number): Promise<string> {
  const r = await docker(args, timeoutMs);
  if (r.code !== 0) throw new Error(`docker ${args.slice(0, 3).join(' ')} … failed (${r.code}): ${r.stderr.trim() || r.stdout.trim()}`);
  return r.stdout;
}

/** Why no Docker engine can be used here, or undefined when `docker info` answers. */
export function dockerUnavailable(): string | undefined {
  const r = spawnSync('docker', ['info', '--format', '{{.ServerVersion}}'], { encoding: 'utf8', timeout: 20_000 });
  if (r.error) return `no docker client (${(r.error as NodeJS.ErrnoException).code ?? r.error.message})`;
  if (r.status !== 0) return `no Docker daemon answers (${(r.stderr || r.stdout).trim().split('\n')[0]})`;
  return undefined;
}
