/**
 * The chart's in-chart NATS, run with this machine's real nats-server: its StatefulSet's arguments (with
 * `$(POD_NAME)` expanded, and only the ports and the store directory moved so as not to meet the machine's
 * own NATS) pass `nats-server -t`, start a server with JetStream, and its probes' URLs answer as the kubelet
 * wants. The official image's newer release may differ (Debian has 2.9): docs/kubernetes.md.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/core/net.js';
import { component, render } from '../chart/helm.js';
import { expand } from './chart/pod-spec.js';

const NATS_SERVER = spawnSync('nats-server', ['--version'], { encoding: 'utf8' });
const hasNats = NATS_SERVER.status === 0;
if (!hasNats) console.log('[chart backends] skipped: no nats-server binary (apt-get install nats-server)');
const READY_TIMEOUT_MS = 30_000;

describe.skipIf(!hasNats)('the in-chart NATS with the real nats-server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'netlab-chart-nats-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('accepts the StatefulSet\'s arguments and answers its probes with JetStream on', async () => {
    const sts = render({ name: 'default values' }).find((o) => o.kind === 'StatefulSet' && component(o) === 'nats')!;
    const c = sts.spec.template.spec.containers[0];
    expect(c.command).toEqual(['nats-server']);
    const [client, monitor] = await Promise.all([freePort(), freePort()]);
    const vars = new Map([['POD_NAME', `${sts.metadata.name}-0`]]);
    const args = (c.args as string[]).map((a) => expand(a, vars)).map((a) =>
      a.replace(/^--port=4222$/, `--port=${client}`).replace(/^--http_port=8222$/, `--http_port=${monitor}`).replace(/^--store_dir=\/data$/, `--store_dir=${dir}`));
    expect(args).toContain('--jetstream');
    // -t checks a configuration file; the chart has none (flags only), so an empty one carries them.
    const conf = join(dir, 'empty.conf');
    writeFileSync(conf, '');
    const check = spawnSync('nats-server', ['-c', conf, ...args, '-a', '127.0.0.1', '-t'], { encoding: 'utf8' });
    expect(check.status, check.stderr + check.stdout).toBe(0);

    const server = spawn('nats-server', [...args, '-a', '127.0.0.1'], { stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      const port = (name: string) => (c.ports as { name: string; containerPort: number }[]).find((p) => p.name === name)!.containerPort;
      expect(port('monitor')).toBe(8222);
      const probes = [c.startupProbe, c.readinessProbe, c.livenessProbe].map((p: { httpGet: { path: string; port: string } }) => p.httpGet);
      const deadline = Date.now() + READY_TIMEOUT_MS;
      for (const probe of probes) {
        expect(probe.port).toBe('monitor');
        for (;;) {
          const status = await fetch(`http://127.0.0.1:${monitor}${probe.path}`).then((r) => r.status, () => 0);
          if (status === 200) break;
          if (Date.now() > deadline) throw new Error(`${probe.path} never answered 200 (last ${status})`);
          await sleep(200);
        }
      }
      const varz = (await (await fetch(`http://127.0.0.1:${monitor}/varz`)).json()) as { server_name: string; jetstream?: { config?: { store_dir?: string } } };
      expect(varz.server_name).toBe(`${sts.metadata.name}-0`);
      expect(varz.jetstream?.config?.store_dir).toContain(dir);
    } finally {
      server.kill('SIGTERM');
    }
  });
});
