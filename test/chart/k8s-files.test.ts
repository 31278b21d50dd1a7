/**
 * k8s/ and the Docker scripts cannot run here (no cluster, no registry images): what can be checked
 * offline is that the shell scripts parse, the YAML files are what kind and kube-prometheus-stack read,
 * and the files and ports they name agree with each other and with the chart.
 */
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROOT } from './helm.js';

const read = (path: string) => readFileSync(`${ROOT}${path}`, 'utf8');

describe('k8s/ and the Docker scripts', () => {
  it.each(['k8s/up.sh', 'scripts/docker-build-local.sh'])('%s parses (bash -n)', (script) => {
    const result = spawnSync('bash', ['-n', `${ROOT}${script}`], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });

  it('k8s/up.sh uses no bash arrays (an empty one is an unbound variable under set -u in bash 3.2, macOS /bin/bash)', () => {
    const code = read('k8s/up.sh').split('\n').filter((l) => !l.trimStart().startsWith('#')).join('\n');
    expect(code).not.toMatch(/\[@\]|\[\*\]|=\(/);
  });

  it('k8s/up.sh falls back to `kind load image-archive` when `kind load docker-image` fails (kind#3795)', () => {
    // kind, kubectl, docker and helm cannot run here: stand-ins on PATH record their arguments, and
    // `kind load docker-image` fails as it does with Docker's containerd image store.
    const bin = mkdtempSync(join(tmpdir(), 'netlab-up-'));
    const calls = join(bin, 'calls.log');
    const stub = (name: string, body: string) => {
      writeFileSync(join(bin, name), `#!/bin/sh\necho "${name} $*" >> "${calls}"\n${body}\n`);
      chmodSync(join(bin, name), 0o755);
    };
    try {
      stub('kind', 'case "$1 $2" in "get clusters") echo netlab;; "load docker-image") exit 1;; esac; exit 0');
      stub('kubectl', 'case "$*" in *jsonpath*) printf c2VjcmV0;; esac; exit 0');
      stub('docker', 'case "$1" in save) [ "$2" = -o ] && : > "$3";; esac; exit 0');
      stub('helm', 'exit 0');
      const result = spawnSync('bash', [`${ROOT}k8s/up.sh`], { encoding: 'utf8', env: { PATH: `${bin}:/usr/bin:/bin`, HOME: bin } });
      expect(result.stderr + result.stdout).toContain('password secret');
      expect(result.status).toBe(0);
      const log = readFileSync(calls, 'utf8');
      expect(log).toMatch(/^kind load docker-image netlab:local --name netlab$/m);
      expect(log).toMatch(/^docker save -o \S+ netlab:local$/m);
      expect(log).toMatch(/^kind load image-archive \S+ --name netlab$/m);
      expect(log).toMatch(/^helm test netlab --namespace netlab --logs$/m);
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });

  it('names only files that exist', () => {
    const up = read('k8s/up.sh');
    for (const m of up.matchAll(/\$ROOT\/([\w./-]+)/g)) expect(existsSync(`${ROOT}${m[1]}`), m[1]).toBe(true);
  });

  it('publishes on localhost the node ports that the values files give Grafana, Prometheus and the messenger', () => {
    const kind = parse(read('k8s/kind-config.yaml'));
    expect(kind).toMatchObject({ kind: 'Cluster', apiVersion: 'kind.x-k8s.io/v1alpha4' });
    const mappings = kind.nodes[0].extraPortMappings as Array<{ containerPort: number; hostPort: number; listenAddress: string }>;
    for (const m of mappings) expect(m.listenAddress).toBe('127.0.0.1');
    const published = new Map(mappings.map((m) => [m.containerPort, m.hostPort]));
    const kps = parse(read('k8s/kube-prometheus-stack.values.yaml'));
    const netlab = parse(read('k8s/netlab.values.yaml'));
    expect(published.get(kps.grafana.service.nodePort)).toBe(3000);
    expect(published.get(kps.prometheus.service.nodePort)).toBe(9090);
    expect(published.get(netlab.messenger.service.nodePort)).toBe(8080);
    expect(read('k8s/up.sh')).toContain('http://localhost:3000');
  });

  it('has Grafana look for the chart\'s dashboard label and Prometheus select monitors of any release', () => {
    const kps = parse(read('k8s/kube-prometheus-stack.values.yaml'));
    const chart = parse(read('charts/netlab/values.yaml'));
    expect(kps.grafana.sidecar.dashboards).toMatchObject({ enabled: true, label: chart.dashboards.label, labelValue: chart.dashboards.labelValue, searchNamespace: 'ALL' });
    expect(kps.prometheus.prometheusSpec.podMonitorSelectorNilUsesHelmValues).toBe(false);
  });

  it('builds an image whose entrypoint runs netlab under tini as a non-root user', () => {
    const dockerfile = read('Dockerfile');
    expect(dockerfile).toMatch(/^ENTRYPOINT \["tini", "--", "node", "\/app\/dist\/main\.js"\]$/m);
    expect(dockerfile).toMatch(/^USER 10001:10001$/m);
    expect(dockerfile).toMatch(/npm ci --omit=dev/);
    // The chart's pod security context runs as the image's user.
    expect(parse(read('charts/netlab/values.yaml')).podSecurityContext.runAsUser).toBe(10001);
    for (const copied of dockerfile.matchAll(/^COPY (?!--from)(.+) \S+$/gm)) {
      for (const path of copied[1]!.split(/\s+/)) expect(existsSync(`${ROOT}${path}`), path).toBe(true);
    }
  });
});
