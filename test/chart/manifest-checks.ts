/**
 * Checks of rendered manifests that the Kubernetes schemas let through: labels, selectors, ports,
 * probes, security contexts, grace periods, references between objects. Each returns the problems it
 * found as readable lines, so a failing test names every broken object at once.
 */
import type { K8sObject } from './helm.js';

export const WORKLOAD_KINDS = ['Deployment', 'StatefulSet', 'Job', 'Pod'];
const LONG_RUNNING = ['Deployment', 'StatefulSet'];
const REQUIRED_LABELS = ['app.kubernetes.io/name', 'app.kubernetes.io/instance', 'app.kubernetes.io/component', 'app.kubernetes.io/managed-by', 'app.kubernetes.io/part-of', 'helm.sh/chart'];
/** Seconds the role needs to exit after its drain (hooks done, process gone). */
const EXIT_MARGIN_SECONDS = 1;

export interface PodView {
  owner: K8sObject;
  labels: Record<string, string>;
  spec: any;
}

/** The pod template of a workload (or the Pod itself). */
export function podOf(o: K8sObject): PodView | undefined {
  if (o.kind === 'Pod') return { owner: o, labels: o.metadata.labels ?? {}, spec: o.spec };
  if (!WORKLOAD_KINDS.includes(o.kind)) return undefined;
  return { owner: o, labels: o.spec.template.metadata?.labels ?? {}, spec: o.spec.template.spec };
}

const id = (o: K8sObject) => `${o.kind}/${o.metadata.name}`;
const containersOf = (spec: any): any[] => [...(spec.initContainers ?? []), ...(spec.containers ?? [])];
const matches = (selector: Record<string, string>, labels: Record<string, string>) => Object.entries(selector).every(([k, v]) => labels[k] === v);

export function checkLabels(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  for (const o of objects) {
    for (const label of REQUIRED_LABELS) if (!o.metadata.labels?.[label]) problems.push(`${id(o)}: no label ${label}`);
    const pod = podOf(o);
    if (pod && o.kind !== 'Pod') {
      for (const label of REQUIRED_LABELS) if (!pod.labels[label]) problems.push(`${id(o)}: pod template has no label ${label}`);
    }
    if (pod && ['Deployment', 'StatefulSet'].includes(o.kind)) {
      const selector: Record<string, string> = o.spec.selector?.matchLabels ?? {};
      if (!selector['app.kubernetes.io/component']) problems.push(`${id(o)}: selector without the component label`);
      if (!matches(selector, pod.labels)) problems.push(`${id(o)}: selector ${JSON.stringify(selector)} does not match its pod labels`);
    }
  }
  return problems;
}

export function checkSecurity(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  for (const o of objects) {
    const pod = podOf(o);
    if (!pod) continue;
    const psc = pod.spec.securityContext ?? {};
    if (psc.runAsNonRoot !== true) problems.push(`${id(o)}: pod securityContext.runAsNonRoot is not true`);
    if (!(psc.runAsUser > 0)) problems.push(`${id(o)}: pod securityContext.runAsUser is not a non-root uid`);
    if (psc.seccompProfile?.type !== 'RuntimeDefault') problems.push(`${id(o)}: pod seccompProfile is not RuntimeDefault`);
    if (pod.spec.automountServiceAccountToken !== false) problems.push(`${id(o)}: mounts a service account token it never uses`);
    const emptyDirs = new Set((pod.spec.volumes ?? []).filter((v: any) => v.emptyDir).map((v: any) => v.name));
    for (const c of containersOf(pod.spec)) {
      const where = `${id(o)} container ${c.name}`;
      const sc = c.securityContext ?? {};
      if (sc.readOnlyRootFilesystem !== true) problems.push(`${where}: root filesystem not read-only`);
      if (sc.allowPrivilegeEscalation !== false) problems.push(`${where}: allowPrivilegeEscalation not false`);
      if (!sc.capabilities?.drop?.includes('ALL')) problems.push(`${where}: capabilities not dropped`);
      if (!(c.volumeMounts ?? []).some((m: any) => m.mountPath === '/tmp' && emptyDirs.has(m.name))) problems.push(`${where}: no emptyDir at /tmp`);
      if (!c.resources?.requests?.memory || !c.resources?.limits?.memory) problems.push(`${where}: no memory request and limit`);
      if (!c.resources?.requests?.cpu) problems.push(`${where}: no cpu request`);
    }
  }
  return problems;
}

function portExists(container: any, port: string | number): boolean {
  return (container.ports ?? []).some((p: any) => p.name === port || p.containerPort === port);
}

export function checkProbes(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  for (const o of objects) {
    const pod = podOf(o);
    if (!pod) continue;
    for (const c of pod.spec.containers ?? []) {
      const where = `${id(o)} container ${c.name}`;
      if (LONG_RUNNING.includes(o.kind)) {
        for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) if (!c[probe]) problems.push(`${where}: no ${probe}`);
      }
      for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) {
        const port = c[probe]?.httpGet?.port ?? c[probe]?.tcpSocket?.port;
        if (port !== undefined && !portExists(c, port)) problems.push(`${where}: ${probe} targets port ${port}, which the container does not declare`);
      }
    }
  }
  return problems;
}

/** Parses a netlab duration (10s, 500ms, 5m) into seconds. */
export function seconds(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text);
  if (!m) throw new Error(`not a duration: ${text}`);
  return Number(m[1]) * { ms: 0.001, s: 1, m: 60, h: 3600 }[(m[2] ?? 's') as 'ms' | 's' | 'm' | 'h'];
}

/** The kubelet waits for preStop, then SIGTERM starts the role's drain of GRACE: both must fit. */
export function checkGracePeriods(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  for (const o of objects) {
    const pod = podOf(o);
    if (!pod || o.kind === 'Pod') continue;
    for (const c of pod.spec.containers ?? []) {
      const grace = (c.env ?? []).find((e: any) => e.name === 'GRACE')?.value;
      if (grace === undefined) continue;
      const preStop = c.lifecycle?.preStop?.exec?.command?.[0] === 'sleep' ? Number(c.lifecycle.preStop.exec.command[1]) : 0;
      const needed = preStop + seconds(grace) + EXIT_MARGIN_SECONDS;
      const period = pod.spec.terminationGracePeriodSeconds ?? 30;
      if (period < needed) problems.push(`${id(o)}: terminationGracePeriodSeconds ${period} < preStop ${preStop} + grace ${grace} + ${EXIT_MARGIN_SECONDS}`);
    }
  }
  return problems;
}

/** Services select exactly one workload's pods and target ports those pods declare. */
export function checkServices(objects: K8sObject[]): string[] {
  const problems: string[] = [];
  const pods = objects.map(podOf).filter((p): p is PodView => p !== undefined && p.owner.kind !== 'Pod' && p.owner.kind !== 'Job');
  for (const svc of objects.filter((o) => o.kind === 'Service')) {
    const selected = pods.filter((p) => matches(svc.spec.selector ?? {}, p.labels));
    if (selected.length !== 1) {
      problems.push(`${id(svc)}: selects ${selected.length} workloads (${selected.map((p) => id(p.owner)).join(', ')})`);
      continue;
    }
    const containers = selected[0]!.spec.containers as any[];
    for (const port of svc.spec.ports ?? []) {
      const target = port.targetPort ?? port.port;
      if (!containers.some((c) => portExists(c, target))) problems.push(`${id(svc)}: port ${port.name} targets ${target}, which ${id(selected[0]!.owner)} does not declare`);
    }
  }
  for (const sts of objects.filter((o) => o.kind === 'StatefulSet')) {
    const headless = objects.find((o) => o.kind === 'Service' && o.metadata.name === sts.spec.serviceName);
    if (!headless) problems.push(`${id(sts)}: serviceName ${sts.spec.serviceName} is not rendered`);
    else if (headless.spec.clusterIP !== 'None') problems.push(`${id(sts)}: service ${sts.spec.serviceName} is not headless`);
  }
  return problems;
}

/** Secret, ConfigMap and $(VAR) references resolve to objects and variables that exist. */
export function checkReferences(objects: K8sObject[], externalSecrets: string[] = []): string[] {
  const problems: string[] = [];
  const names = (kind: string) => new Set(objects.filter((o) => o.kind === kind).map((o) => o.metadata.name));
  const secrets = new Set([...names('Secret'), ...externalSecrets]);
  const configMaps = names('ConfigMap');
  for (const o of objects) {
    const pod = podOf(o);
    if (!pod) continue;
    for (const v of pod.spec.volumes ?? []) {
      if (v.configMap && !configMaps.has(v.configMap.name)) problems.push(`${id(o)}: volume ${v.name} names ConfigMap ${v.configMap.name}, not rendered`);
      if (v.secret && !secrets.has(v.secret.secretName)) problems.push(`${id(o)}: volume ${v.name} names Secret ${v.secret.secretName}, not rendered`);
    }
    for (const c of containersOf(pod.spec)) {
      const defined = new Set<string>();
      for (const e of c.env ?? []) {
        const ref = e.valueFrom?.secretKeyRef;
        if (ref && !secrets.has(ref.name)) problems.push(`${id(o)} container ${c.name}: env ${e.name} names Secret ${ref.name}, not rendered`);
        for (const m of String(e.value ?? '').matchAll(/\$\((\w+)\)/g)) {
          if (!defined.has(m[1]!)) problems.push(`${id(o)} container ${c.name}: env ${e.name} uses $(${m[1]}) before it is defined`);
        }
        defined.add(e.name);
      }
      for (const m of c.volumeMounts ?? []) {
        if (!(pod.spec.volumes ?? []).some((v: any) => v.name === m.name) && !(o.spec.volumeClaimTemplates ?? []).some((t: any) => t.metadata.name === m.name)) {
          problems.push(`${id(o)} container ${c.name}: mounts ${m.name}, which is no volume`);
        }
      }
    }
  }
  for (const o of objects.filter((x) => x.kind === 'PodDisruptionBudget' || x.kind === 'HorizontalPodAutoscaler')) {
    const selector = o.spec.selector?.matchLabels;
    const target = o.spec.scaleTargetRef?.name;
    const ok = selector ? objects.some((w) => podOf(w) && matches(selector, podOf(w)!.labels)) : objects.some((w) => w.kind === o.spec.scaleTargetRef.kind && w.metadata.name === target);
    if (!ok) problems.push(`${id(o)}: targets nothing that is rendered`);
  }
  return problems;
}

export const ALL_CHECKS = { checkLabels, checkSecurity, checkProbes, checkGracePeriods, checkServices };
