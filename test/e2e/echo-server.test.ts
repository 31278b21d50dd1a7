import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { EXIT_UNAVAILABLE } from '../../src/core/exit-codes.js';
import { probeReusePort } from '../../src/core/net.js';
import { buildMessage } from '../../src/echo/bench/message.js';
import { processTree } from '../../src/echo/bench/proc-sampler.js';
import { ECHO_MODELS, type EchoModel } from '../../src/echo/models.js';
import { connectTo, ECHO_SIZES, pattern, readBytes, SPLIT_PIECES, waitUntil, writeInPieces } from '../echo/server/echo-client.js';
import { freePort, MAIN, startNetlab, type NetlabProcess } from '../helpers/netlab-process.js';

const LISTENING = /listening on/;
const started: NetlabProcess[] = [];
const sockets: Socket[] = [];
const reusePort = await probeReusePort();
const available = ECHO_MODELS.filter((m) => m !== 'threads' || reusePort.supported);

async function server(model: EchoModel, extra: string[] = []): Promise<{ port: number; proc: NetlabProcess }> {
  const port = await freePort();
  const proc = startNetlab(['echo-server', '--model', model, '--host', '127.0.0.1', '--port', String(port), '--workers', '2', ...extra]);
  started.push(proc);
  await proc.waitFor(LISTENING);
  return { port, proc };
}

async function client(port: number): Promise<Socket> {
  const s = await connectTo(port);
  sockets.push(s);
  return s;
}

afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(started.splice(0).map((p) => p.stop('SIGKILL')));
});

describe.each(available)('echo-server --model %s', (model) => {
  it('echoes 1 byte to 1 MiB, split writes and many messages in one write, on several connections', async () => {
    const { port } = await server(model);
    // Several connections so cluster and threads spread them over both workers.
    const clients = await Promise.all([1, 2, 3, 4].map(() => client(port)));
    await Promise.all(
      clients.map(async (s, i) => {
        for (const size of ECHO_SIZES) {
          const payload = pattern(size, size + i);
          s.write(payload);
          const back = await readBytes(s, size);
          expect(back.equals(payload), `size ${size} on connection ${i}`).toBe(true);
        }
        const split = pattern(150_000, 99 + i);
        const reading = readBytes(s, split.length);
        await writeInPieces(s, split, SPLIT_PIECES);
        expect((await reading).equals(split)).toBe(true);
      }),
    );
  });

  it('serves metrics: connections, bytes, and requests when framed', async () => {
    const metricsPort = await freePort();
    const { port } = await server(model, ['--framed', '--metrics-port', String(metricsPort), '--metrics-host', '127.0.0.1']);
    const s = await client(port);
    const messages = Buffer.concat([buildMessage(64, 1), buildMessage(1000, 2), buildMessage(50_000, 3)]);
    s.write(messages);
    await readBytes(s, messages.length);
    // Workers post their counters every second; the loop model answers at once.
    let text = '';
    await waitUntil(() => /netlab_echo_requests_total\{[^}]*\} 3\b/.test(text) || (void fetchText(), false), 5000, 200);
    async function fetchText() {
      text = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text()).catch(() => '');
    }
    expect(text).toMatch(new RegExp(`netlab_echo_received_bytes_total\\{[^}]*model="${model}"[^}]*\\} ${messages.length}\\b`));
    expect(text).toMatch(/netlab_echo_open_connections\{[^}]*\} 1\b/);
    expect(text).toMatch(new RegExp(`netlab_echo_workers\\{[^}]*\\} ${model === 'loop' ? 1 : 2}\\b`));
  });

  it('keeps serving others while a peer does not read, and exits 0 on SIGTERM', async () => {
    const { port, proc } = await server(model, ['--grace', '1500ms']);
    const stuck = await client(port);
    stuck.pause();
    stuck.on('error', () => {});
    stuck.write(pattern(32 * 1024 * 1024, 1));
    await new Promise((r) => setTimeout(r, 300));
    const other = await client(port);
    const hello = pattern(4096, 2);
    other.write(hello);
    expect((await readBytes(other, hello.length)).equals(hello)).toBe(true);
    // The stuck peer is cut off at the end of the grace period and the server still exits cleanly.
    const stopping = Date.now();
    expect(await proc.stop('SIGTERM')).toBe(0);
    expect(Date.now() - stopping).toBeLessThan(5000);
  });

  it('refuses a port in use with one line and exit 69 (EXIT_UNAVAILABLE)', async () => {
    const { port } = await server('loop');
    const second = startNetlab(['echo-server', '--model', model, '--host', '127.0.0.1', '--port', String(port), '--workers', '2']);
    started.push(second);
    expect(await second.exited).toBe(EXIT_UNAVAILABLE);
    expect(second.stderr().trim().split('\n')).toEqual([expect.stringMatching(/EADDRINUSE/)]);
  });
});

describe('echo-server', () => {
  it('replaces a crashed cluster worker and keeps serving', async () => {
    const { port, proc } = await server('cluster');
    const workers = processTree(proc.child.pid!).slice(1);
    expect(workers).toHaveLength(2);
    process.kill(workers[0]!, 'SIGKILL');
    await proc.waitFor(/exited unexpectedly/);
    await proc.waitFor(/worker \d replaced/);
    expect(processTree(proc.child.pid!).slice(1)).toHaveLength(2);
    for (let i = 0; i < 4; i++) {
      const s = await client(port);
      const m = pattern(1000, i);
      s.write(m);
      expect((await readBytes(s, m.length)).equals(m)).toBe(true);
    }
  });

  it('rejects bad flags with one line per flag and exit 2', async () => {
    const p = startNetlab(['echo-server', '--model', 'fork', '--workers', '0', '--idle-timeout', 'soon']);
    expect(await p.exited).toBe(2);
    const lines = p.stderr().trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines.join('\n')).toMatch(/--model/);
    expect(lines.join('\n')).toMatch(/--workers/);
    expect(lines.join('\n')).toMatch(/--idle-timeout/);
  });

  // The machine's older Node (if any) has no reusePort: the threads model must say so and exit 69 (EXIT_UNAVAILABLE).
  const oldNode = ['/usr/bin/node', '/usr/local/bin/node'].find((p) => {
    if (!existsSync(p)) return false;
    const [major, minor] = execFileSync(p, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim().split('.').map(Number);
    return major! < 22 || (major === 22 && minor! < 12);
  });
  it.skipIf(!oldNode)('says the threads model is unavailable on a Node without reusePort and exits 69', () => {
    let code = 0;
    let stderr = '';
    try {
      execFileSync(oldNode!, [MAIN, 'echo-server', '--model', 'threads', '--port', '0', '--metrics-port', '0'], { encoding: 'utf8', stdio: 'pipe' });
    } catch (err) {
      code = (err as { status: number }).status;
      stderr = (err as { stderr: string }).stderr;
    }
    expect(code).toBe(EXIT_UNAVAILABLE);
    expect(stderr).toMatch(/--model threads is not available: .*reusePort/);
  });
});
