/**
 * What the kubelet makes of a container spec before it starts anything: environment variables resolved
 * from Secrets, ConfigMaps and the downward API with `$(VAR)` expanded, command and args, the effective
 * security context, resource quantities. Pure functions of the rendered objects, so they are testable
 * without a container engine.
 */

export type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> }; [key: string]: any };

export interface PodFacts {
  name: string;
  namespace: string;
  ip: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  serviceAccountName: string;
  nodeName: string;
}

/** Secrets (decoded) and ConfigMaps of the namespace, by name. */
export interface Store {
  secrets: Map<string, Record<string, string>>;
  configMaps: Map<string, Record<string, string>>;
}

export function storeOf(objects: Obj[]): Store {
  const secrets = new Map<string, Record<string, string>>();
  const configMaps = new Map<string, Record<string, string>>();
  for (const o of objects) {
    if (o.kind === 'Secret') {
      const data: Record<string, string> = {};
      for (const [k, v] of Object.entries((o.data ?? {}) as Record<string, string>)) data[k] = Buffer.from(v, 'base64').toString('utf8');
      for (const [k, v] of Object.entries((o.stringData ?? {}) as Record<string, string>)) data[k] = v;
      secrets.set(o.metadata.name, data);
    } else if (o.kind === 'ConfigMap') configMaps.set(o.metadata.name, { ...(o.data ?? {}) });
  }
  return { secrets, configMaps };
}

/**
 * Kubernetes' `$(VAR)` expansion (k8s.io/kubernetes third_party/forked/golang/expansion): `$(NAME)` is
 * replaced when NAME is defined, left as it is otherwise; `$$` is a literal `$`.
 */
export function expand(text: string, vars: ReadonlyMap<string, string>): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c !== '$' || i + 1 >= text.length) {
      out += c;
      continue;
    }
    const next = text[i + 1];
    if (next === '$') {
      out += '$';
      i++;
    } else if (next === '(') {
      const end = text.indexOf(')', i + 2);
      if (end < 0) {
        out += text.slice(i);
        break;
      }
      const name = text.slice(i + 2, end);
      out += vars.has(name) ? vars.get(name) : `$(${name})`;
      i = end;
    } else out += c;
  }
  return out;
}

/** The service-link variables the kubelet injects unless `enableServiceLinks: false`. */
export function serviceLinkEnv(services: Obj[]): Map<string, string> {
  const env = new Map<string, string>();
  for (const s of services) {
    const ports = (s.spec?.ports ?? []) as { name?: string; port: number; protocol?: string }[];
    if (!ports.length || s.spec?.clusterIP === 'None') continue;
    const name = s.metadata.name.toUpperCase().replace(/-/g, '_');
    // The kubelet writes the Service's cluster IP; this stand-in names the Service instead (no cluster
    // IPs here), which keeps the variables' names and shapes.
    const host = s.metadata.name;
    const first = ports[0]!;
    env.set(`${name}_SERVICE_HOST`, host);
    env.set(`${name}_SERVICE_PORT`, String(first.port));
    env.set(`${name}_PORT`, `${(first.protocol ?? 'TCP').toLowerCase()}://${host}:${first.port}`);
    for (const p of ports) {
      const proto = (p.protocol ?? 'TCP').toUpperCase();
      const key = `${name}_PORT_${p.port}_${proto}`;
      env.set(key, `${proto.toLowerCase()}://${host}:${p.port}`);
      env.set(`${key}_PROTO`, proto.toLowerCase());
      env.set(`${key}_PORT`, String(p.port));
      env.set(`${key}_ADDR`, host);
      if (p.name) env.set(`${name}_SERVICE_PORT_${p.name.toUpperCase().replace(/-/g, '_')}`, String(p.port));
    }
  }
  return env;
}

function fieldRef(path: string, pod: PodFacts): string {
  const label = /^metadata\.labels\['(.+)'\]$/.exec(path);
  if (label) return pod.labels[label[1]!] ?? '';
  const annotation = /^metadata\.annotations\['(.+)'\]$/.exec(path);
  if (annotation) return pod.annotations[annotation[1]!] ?? '';
  const fields: Record<string, string> = {
    'metadata.name': pod.name,
    'metadata.namespace': pod.namespace,
    'spec.nodeName': pod.nodeName,
    'spec.serviceAccountName': pod.serviceAccountName,
    'status.podIP': pod.ip,
    'status.hostIP': pod.ip,
  };
  if (!(path in fields)) throw new Error(`fieldRef ${path} is not one the kubelet resolves`);
  return fields[path]!;
}

function keyRef(kind: 'Secret' | 'ConfigMap', ref: { name: string; key: string; optional?: boolean }, store: Store): string | undefined {
  const data = (kind === 'Secret' ? store.secrets : store.configMaps).get(ref.name);
  if (data && ref.key in data) return data[ref.key];
  if (ref.optional) return undefined;
  // The kubelet refuses to start the container: CreateContainerConfigError.
  throw new Error(`CreateContainerConfigError: ${kind.toLowerCase()} "${ref.name}"${data ? ` has no key "${ref.key}"` : ' not found'}`);
}

/** The container's environment, in the kubelet's order: service links, envFrom, then env with `$(VAR)`. */
export function containerEnv(container: any, pod: PodFacts, store: Store, serviceLinks: Map<string, string> | undefined): Map<string, string> {
  const env = new Map<string, string>(serviceLinks ?? []);
  for (const from of container.envFrom ?? []) {
    const source = from.secretRef ? store.secrets.get(from.secretRef.name) : store.configMaps.get(from.configMapRef?.name);
    if (!source && !(from.secretRef?.optional || from.configMapRef?.optional)) throw new Error(`CreateContainerConfigError: envFrom ${JSON.stringify(from)} not found`);
    for (const [k, v] of Object.entries(source ?? {})) env.set(`${from.prefix ?? ''}${k}`, v);
  }
  for (const e of container.env ?? []) {
    let value: string | undefined;
    if (e.valueFrom?.secretKeyRef) value = keyRef('Secret', e.valueFrom.secretKeyRef, store);
    else if (e.valueFrom?.configMapKeyRef) value = keyRef('ConfigMap', e.valueFrom.configMapKeyRef, store);
    else if (e.valueFrom?.fieldRef) value = fieldRef(e.valueFrom.fieldRef.fieldPath, pod);
    else if (e.valueFrom?.resourceFieldRef) throw new Error('resourceFieldRef is not emulated');
    else value = expand(String(e.value ?? ''), env);
    if (value !== undefined) env.set(e.name, value);
  }
  return env;
}

/** Entrypoint and arguments: `command` replaces the image's ENTRYPOINT, `args` its CMD; both expanded. */
export function commandLine(container: any, env: ReadonlyMap<string, string>, image: { entrypoint: string[]; cmd: string[] }): string[] {
  const command = container.command ? (container.command as string[]).map((c) => expand(c, env)) : image.entrypoint;
  const args = container.args ? (container.args as string[]).map((a) => expand(String(a), env)) : container.command ? [] : image.cmd;
  return [...command, ...args];
}

export interface SecurityFacts {
  uid: number;
  gid: number;
  supplementalGroups: number[];
  readOnlyRoot: boolean;
  noNewPrivileges: boolean;
  dropCaps: string[];
  addCaps: string[];
  privileged: boolean;
  seccomp: string | undefined;
}

/** The pod's and the container's securityContext merged as the kubelet does (the container's wins). */
export function securityOf(podSpec: any, container: any, imageUser: string): SecurityFacts {
  const pod = podSpec.securityContext ?? {};
  const c = container.securityContext ?? {};
  const [imageUid = '0', imageGid = '0'] = imageUser ? imageUser.split(':') : [];
  const uid = c.runAsUser ?? pod.runAsUser ?? Number(imageUid);
  const gid = c.runAsGroup ?? pod.runAsGroup ?? Number(imageGid || 0);
  if (Number.isNaN(uid)) throw new Error(`image user "${imageUser}" is not numeric: runAsNonRoot cannot be verified`);
  if ((c.runAsNonRoot ?? pod.runAsNonRoot) && uid === 0) throw new Error('CreateContainerConfigError: container has runAsNonRoot and image will run as root');
  return {
    uid,
    gid,
    supplementalGroups: [...(pod.fsGroup !== undefined ? [pod.fsGroup] : []), ...(pod.supplementalGroups ?? [])],
    readOnlyRoot: c.readOnlyRootFilesystem === true,
    noNewPrivileges: c.allowPrivilegeEscalation === false,
    dropCaps: c.capabilities?.drop ?? [],
    addCaps: c.capabilities?.add ?? [],
    privileged: c.privileged === true,
    seccomp: (c.seccompProfile ?? pod.seccompProfile)?.type,
  };
}

/** A Kubernetes quantity in bytes (memory) or cores (cpu). */
export function quantity(q: string | number): number {
  if (typeof q === 'number') return q;
  const m = /^([0-9.]+)([a-zA-Z]*)$/.exec(q);
  if (!m) throw new Error(`not a quantity: ${q}`);
  const factors: Record<string, number> = { '': 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4 };
  const f = factors[m[2]!];
  if (f === undefined) throw new Error(`unknown quantity suffix in ${q}`);
  return Number(m[1]) * f;
}

/** A container port by name or number. */
export function resolvePort(container: any, port: string | number): number {
  if (typeof port === 'number' || /^\d+$/.test(String(port))) return Number(port);
  const found = (container.ports ?? []).find((p: { name?: string }) => p.name === port);
  if (!found) throw new Error(`container ${container.name} has no port named ${port}`);
  return found.containerPort as number;
}

export function labelsMatch(selector: Record<string, string> | undefined, labels: Record<string, string>): boolean {
  if (!selector || Object.keys(selector).length === 0) return false;
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}
