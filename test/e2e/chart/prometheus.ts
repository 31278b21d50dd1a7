/**
 * A real Prometheus (Debian's `prometheus`) scraping the pods the way the chart's PodMonitor selects them:
 * the same pod selector and namespace, the same port names and paths, the same interval, its relabelings
 * run by Prometheus itself, and the labels the Prometheus Operator adds (namespace, pod, container,
 * endpoint, job).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { stringify } from 'yaml';
import { freePort } from '../../../src/core/net.js';
import type { Pod } from './kubelet.js';
import { labelsMatch, type Obj } from './pod-spec.js';

const READY_TIMEOUT_MS = 60_000;

/** Kubernetes' label name as a Prometheus meta label: non-alphanumerics become underscores. */
const metaLabel = (name: string) => `__meta_kubernetes_pod_label_${name.replace(/[^a-zA-Z0-9_]/g, '_')}`;
const snake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/**
 * scrape_configs for one PodMonitor and the pods it selects. The targets go to file_sd files in `dir`
 * (Prometheus watches them, as kubernetes_sd watches pods): a pod that starts later is added without
 * a reload, and the targets already there keep their scrape loops.
 */
export function scrapeConfigs(monitor: Obj, pods: Pod[], dir: string): object[] {
  const selector = monitor.spec.selector?.matchLabels as Record<string, string>;
  const namespaces: string[] | undefined = monitor.spec.namespaceSelector?.matchNames;
  return (monitor.spec.podMetricsEndpoints as any[]).map((endpoint, index) => {
    const targets: { targets: string[]; labels: Record<string, string> }[] = [];
    for (const pod of pods) {
      if (!pod.facts.ip) continue; // not started yet: no pod IP
      if (!labelsMatch(selector, pod.facts.labels) || (namespaces && !namespaces.includes(pod.facts.namespace))) continue;
      for (const c of pod.spec.containers as any[]) {
        const port = (c.ports ?? []).find((p: { name?: string }) => p.name === endpoint.port);
        if (!port) continue;
        const labels: Record<string, string> = { namespace: pod.facts.namespace, pod: pod.name, container: c.name, endpoint: endpoint.port };
        for (const [k, v] of Object.entries(pod.facts.labels)) labels[metaLabel(k)] = v;
        targets.push({ targets: [`${pod.facts.ip}:${port.containerPort}`], labels });
      }
    }
    const file = join(dir, `targets-${index}.json`);
    writeFileSync(`${file}.tmp`, JSON.stringify(targets));
    renameSync(`${file}.tmp`, file);
    return {
      job_name: `podMonitor/${monitor.metadata.namespace}/${monitor.metadata.name}/${index}`,
      scrape_interval: endpoint.interval ?? '30s',
      metrics_path: endpoint.path ?? '/metrics',
      scheme: endpoint.scheme ?? 'http',
      file_sd_configs: [{ files: [file], refresh_interval: '5s' }],
      relabel_configs: [
        { target_label: 'job', replacement: `${monitor.metadata.namespace}/${monitor.metadata.name}` },
        ...((endpoint.relabelings ?? []) as Record<string, unknown>[]).map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [snake(k), v]))),
      ],
    };
  });
}

export class Prometheus {
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
    readonly dir: string,
    private readonly output: () => string,
  ) {}

  /** Starts Prometheus with the scrape configs `configs(dir)` writes (their target files in `dir`). */
  static async start(configs: (dir: string) => object[]): Promise<Prometheus> {
    const dir = mkdtempSync(join(tmpdir(), 'netlab-prometheus-'));
    const config = join(dir, 'prometheus.yml');
    writeFileSync(config, stringify({ global: { scrape_timeout: '10s' }, scrape_configs: configs(dir) }));
    const port = await freePort();
    const child = spawn('prometheus', [`--config.file=${config}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
    child.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c));
    const p = new Prometheus(child, `http://127.0.0.1:${port}`, dir, () => out);
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`prometheus exited ${child.exitCode}:\n${out}`);
      try {
        if ((await fetch(`${p.url}/-/ready`)).ok) return p;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) throw new Error(`prometheus not ready in ${READY_TIMEOUT_MS} ms:\n${out}`);
      await sleep(200);
    }
  }

  async query(expr: string): Promise<{ resultType: string; result: any[] }> {
    const res = await fetch(`${this.url}/api/v1/query?${new URLSearchParams({ query: expr })}`);
    const body = (await res.json()) as { status: string; data?: { resultType: string; result: any[] }; error?: string };
    if (body.status !== 'success' || !body.data) throw new Error(`query failed: ${expr}: ${body.error}`);
    return body.data;
  }

  /** Scrape targets with their health, as /api/v1/targets shows them. */
  async targets(): Promise<{ scrapeUrl: string; health: string; lastError: string; labels: Record<string, string> }[]> {
    const body = (await (await fetch(`${this.url}/api/v1/targets`)).json()) as { data: { activeTargets: any[] } };
    return body.data.activeTargets;
  }

  async stop(): Promise<string> {
    this.child.kill('SIGTERM');
    await new Promise((r) => (this.child.exitCode !== null ? r(undefined) : this.child.once('exit', r)));
    rmSync(this.dir, { recursive: true, force: true });
    return this.output();
  }
}
