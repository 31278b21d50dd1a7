/**
 * A small kubelet on Docker: starts a rendered pod spec the way a kubelet does, close enough to find what
 * breaks only when pods really start. What it does, and what only a real cluster shows, is in
 * docs/kubernetes.md ("The runtime test of the chart").
 *
 * - A pod is a "pause" container holding the network namespace (one IP, one localhost, the Services'
 *   names as network aliases on a user-defined network) and its containers joined to it.
 * - Init containers run one after another to exit 0, then the containers start together.
 * - Probes run from outside the pod as the kubelet's do: httpGet and tcpSocket against the pod IP, exec
 *   inside the container, with the spec's initialDelay, period, timeout and thresholds.
 * - restartPolicy Always / OnFailure / Never with the kubelet's back-off (10 s doubling, 5 min at most).
 * - Deletion: preStop exec, SIGTERM, SIGKILL when terminationGracePeriodSeconds ends.
 */
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { docker, dockerOk } from './docker.js';
import { commandLine, containerEnv, labelsMatch, type Obj, type PodFacts, quantity, resolvePort, securityOf, serviceLinkEnv, type Store } from './pod-spec.js';

/** The kubelet's crash-loop back-off: 10 s, doubling, at most 5 minutes. */
export const BACKOFF_INITIAL_MS = 10_000;
export const BACKOFF_MAX_MS = 300_000;

export interface ClusterConfig {
  /** A prefix for every Docker object, unique per run. */
  prefix: string;
  namespace: string;
  network: string;
  /** host:ip pairs every pod resolves (the stand-in for Services of type ExternalName). */
  extraHosts: string[];
  store: Store;
  services: Obj[];
  /** Image config by reference (ENTRYPOINT, CMD, User). */
  images: Map<string, { entrypoint: string[]; cmd: string[]; user: string }>;
  log: (line: string) => void;
}

export interface ContainerState {
  name: string;
  docker: string;
  restarts: number;
  /** Exit codes of every run that ended. */
  exits: number[];
  started: boolean;
  ready: boolean;
  /** Set once the container ended and will not be started again. */
  terminated?: number;
  probeFailures: string[];
}

type Probe = { httpGet?: { path?: string; port: string | number; scheme?: string }; tcpSocket?: { port: string | number }; exec?: { command: string[] }; initialDelaySeconds?: number; periodSeconds?: number; timeoutSeconds?: number; successThreshold?: number; failureThreshold?: number };

export class Pod {
  readonly facts: PodFacts;
  readonly containers = new Map<string, ContainerState>();
  readonly events: string[] = [];
  private readonly pause: string;
  private readonly stop = new AbortController();
  private readonly volumeNames = new Map<string, string>();
  private readyResolve!: () => void;
  /** Resolves when every container passed its startup and readiness probes (Ready condition). */
  readonly ready = new Promise<void>((r) => (this.readyResolve = r));
  private doneResolve!: (phase: 'Succeeded' | 'Failed') => void;
  /** For restartPolicy Never/OnFailure: resolves with the phase when no container will run again. */
  readonly done = new Promise<'Succeeded' | 'Failed'>((r) => (this.doneResolve = r));
  deleting = false;

  constructor(
    readonly cluster: ClusterConfig,
    readonly name: string,
    readonly template: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> }; spec: any },
    /** PVC name (claim template name) to Docker volume, for StatefulSet pods. */
    readonly claims: Map<string, string> = new Map(),
    private readonly onSandbox: (pod: Pod) => void = () => undefined,
  ) {
    this.pause = `${cluster.prefix}-${name}`;
    this.facts = {
      name,
      namespace: cluster.namespace,
      ip: '',
      labels: template.metadata?.labels ?? {},
      annotations: template.metadata?.annotations ?? {},
      serviceAccountName: template.spec.serviceAccountName ?? 'default',
      nodeName: 'docker',
    };
  }

  get spec(): any {
    return this.template.spec;
  }

  private event(text: string): void {
    this.events.push(`${new Date().toISOString()} ${text}`);
    this.cluster.log(`[${this.name}] ${text}`);
  }

  /** Network aliases: the Services selecting this pod, by every name a pod's resolver tries. */
  private aliases(): string[] {
    const ns = this.cluster.namespace;
    const names: string[] = [];
    for (const s of this.cluster.services) {
      const selected = labelsMatch(s.spec?.selector, this.facts.labels);
      if (!selected) continue;
      const svc = s.metadata.name;
      names.push(svc, `${svc}.${ns}`, `${svc}.${ns}.svc`, `${svc}.${ns}.svc.cluster.local`);
      // A StatefulSet pod under its headless Service: <pod>.<service>.
      if (s.spec?.clusterIP === 'None' && this.spec.subdomain === svc) names.push(`${this.name}.${svc}`, `${this.name}.${svc}.${ns}.svc.cluster.local`);
    }
    return names;
  }

  async start(): Promise<void> {
    const spec = this.spec;
    if (spec.hostname) this.event(`hostname ${spec.hostname}`);
    const args = ['run', '-d', '--name', this.pause, '--hostname', spec.hostname ?? this.name, '--network', this.cluster.network];
    for (const a of this.aliases()) args.push('--network-alias', a);
    for (const h of this.cluster.extraHosts) args.push('--add-host', h);
    // The pause container: the image's own `sleep`, with nothing else (no capabilities, read-only).
    const image = (spec.containers[0] as { image: string }).image;
    args.push('--read-only', '--cap-drop', 'ALL', '--security-opt', 'no-new-privileges', '--user', '65534:65534', '--entrypoint', 'sleep', image, 'infinity');
    await dockerOk(args);
    this.facts.ip = (await dockerOk(['inspect', '-f', `{{(index .NetworkSettings.Networks "${this.cluster.network}").IPAddress}}`, this.pause])).trim();
    this.event(`sandbox up, IP ${this.facts.ip}`);
    this.onSandbox(this);
    await this.makeVolumes();
    for (const c of spec.initContainers ?? []) {
      if (this.stop.signal.aborted) return;
      const state = this.newState(c.name);
      for (;;) {
        const code = await this.runToEnd(c, state);
        if (code === 0) break;
        if (spec.restartPolicy === 'Never') {
          this.event(`init container ${c.name} failed (${code}): pod Failed`);
          this.doneResolve('Failed');
          return;
        }
        await this.backoff(state);
        if (this.stop.signal.aborted) return;
      }
    }
    await Promise.all((spec.containers as any[]).map((c) => this.startContainer(c)));
    void this.watchReadiness();
  }

  private newState(name: string): ContainerState {
    const state: ContainerState = { name, docker: `${this.pause}-${name}`, restarts: 0, exits: [], started: false, ready: false, probeFailures: [] };
    this.containers.set(name, state);
    return state;
  }

  /** emptyDir and PVC volumes as Docker volumes, owned as fsGroup makes them. */
  private async makeVolumes(): Promise<void> {
    const fsGroup = this.spec.securityContext?.fsGroup as number | undefined;
    for (const v of (this.spec.volumes ?? []) as any[]) {
      if (v.emptyDir) {
        const name = `${this.pause}-${v.name}`;
        // emptyDir on Medium Memory is a tmpfs; the default is node disk. Either way its size limit is
        // enforced by eviction: here a tmpfs of that size stands in for both.
        const size = v.emptyDir.sizeLimit ? Math.ceil(quantity(v.emptyDir.sizeLimit)) : 256 * 1024 ** 2;
        await dockerOk(['volume', 'create', '--driver', 'local', '--opt', 'type=tmpfs', '--opt', 'device=tmpfs', '--opt', `o=size=${size},mode=1777`, name]);
        this.volumeNames.set(v.name, name);
      } else if (v.persistentVolumeClaim) {
        const name = this.claims.get(v.persistentVolumeClaim.claimName);
        if (!name) throw new Error(`pod ${this.name}: PVC ${v.persistentVolumeClaim.claimName} is not bound`);
        this.volumeNames.set(v.name, name);
      } else if (v.configMap || v.secret) {
        this.volumeNames.set(v.name, await this.projectedVolume(v));
      } else throw new Error(`pod ${this.name}: volume ${v.name} is of a kind the emulation lacks: ${JSON.stringify(v)}`);
    }
    for (const [claim, volume] of this.claims) this.volumeNames.set(claim, volume);
    if (fsGroup === undefined) return;
    const image = (this.spec.containers[0] as { image: string }).image;
    for (const [, volume] of this.volumeNames) {
      // What the kubelet does for fsGroup: the volume's group is fsGroup, group-writable, setgid dirs.
      await dockerOk(['run', '--rm', '--network', 'none', '--user', '0:0', '--entrypoint', 'sh', '-v', `${volume}:/v`, image, '-c', `chgrp -R ${fsGroup} /v && chmod -R g+rwX /v && find /v -type d -exec chmod g+s {} +`]);
    }
  }

  /** A ConfigMap or Secret volume: its keys as files, in a volume written once. */
  private async projectedVolume(v: any): Promise<string> {
    const name = `${this.pause}-${v.name}`;
    const data = v.configMap ? this.cluster.store.configMaps.get(v.configMap.name) : this.cluster.store.secrets.get(v.secret.secretName);
    if (!data) throw new Error(`pod ${this.name}: volume ${v.name} names a missing ${v.configMap ? 'ConfigMap' : 'Secret'}`);
    await dockerOk(['volume', 'create', name]);
    const image = (this.spec.containers[0] as { image: string }).image;
    const script = Object.entries(data).map(([k, val]) => `printf '%s' '${val.replace(/'/g, `'\\''`)}' > '/v/${k}'`).join(' && ');
    await dockerOk(['run', '--rm', '--network', 'none', '--user', '0:0', '--entrypoint', 'sh', '-v', `${name}:/v`, image, '-c', `${script || 'true'} && chmod -R a+rX /v`]);
    return name;
  }

  /** `docker create` arguments for one container of the pod. */
  private createArgs(c: any, state: ContainerState): string[] {
    const imageConfig = this.cluster.images.get(c.image);
    if (!imageConfig) throw new Error(`ErrImageNeverPull: image ${c.image} is not on this node`);
    const links = this.spec.enableServiceLinks === false ? undefined : serviceLinkEnv(this.cluster.services);
    const env = containerEnv(c, this.facts, this.cluster.store, links);
    const [entrypoint, ...rest] = commandLine(c, env, imageConfig);
    if (!entrypoint) throw new Error(`container ${c.name}: no command`);
    const sec = securityOf(this.spec, c, imageConfig.user);
    const args = ['create', '--name', state.docker, '--network', `container:${this.pause}`, '--user', `${sec.uid}:${sec.gid}`, '--init=false'];
    for (const g of sec.supplementalGroups) args.push('--group-add', String(g));
    if (sec.readOnlyRoot) args.push('--read-only');
    if (sec.noNewPrivileges) args.push('--security-opt', 'no-new-privileges');
    if (sec.privileged) args.push('--privileged');
    for (const cap of sec.dropCaps) args.push('--cap-drop', cap);
    for (const cap of sec.addCaps) args.push('--cap-add', cap);
    if (sec.seccomp === 'Unconfined') args.push('--security-opt', 'seccomp=unconfined');
    const limits = c.resources?.limits ?? {};
    const requests = c.resources?.requests ?? {};
    if (limits.memory) args.push('--memory', String(Math.floor(quantity(limits.memory))), '--memory-swap', String(Math.floor(quantity(limits.memory))));
    if (limits.cpu) args.push('--cpus', String(quantity(limits.cpu)));
    if (requests.cpu) args.push('--cpu-shares', String(Math.max(2, Math.round(quantity(requests.cpu) * 1024))));
    if (c.workingDir) args.push('--workdir', c.workingDir);
    for (const [k, v] of env) args.push('--env', `${k}=${v}`);
    for (const m of (c.volumeMounts ?? []) as any[]) {
      const volume = this.volumeNames.get(m.name);
      if (!volume) throw new Error(`container ${c.name}: volumeMount ${m.name} has no volume`);
      if (m.subPath) throw new Error('subPath mounts are not emulated');
      args.push('--mount', `type=volume,src=${volume},dst=${m.mountPath}${m.readOnly ? ',readonly' : ''}`);
    }
    // No restart by Docker: this kubelet decides, by restartPolicy.
    args.push('--entrypoint', entrypoint, c.image, ...rest);
    return args;
  }

  /** Runs an init container (or a container of a pod that never restarts) once, to its exit code. */
  private async runToEnd(c: any, state: ContainerState): Promise<number> {
    if (!state.started) {
      await dockerOk(this.createArgs(c, state));
      state.started = true;
    }
    await dockerOk(['start', state.docker]);
    const code = Number((await dockerOk(['wait', state.docker], 0)).trim());
    state.exits.push(code);
    this.event(`container ${c.name} exited ${code}`);
    return code;
  }

  private async backoff(state: ContainerState): Promise<void> {
    const delay = Math.min(BACKOFF_INITIAL_MS * 2 ** state.restarts, BACKOFF_MAX_MS);
    state.restarts++;
    this.event(`back-off ${delay / 1000}s restarting ${state.name} (restart ${state.restarts})`);
    await sleep(delay, undefined, { signal: this.stop.signal }).catch(() => undefined);
  }

  /** Starts a container and keeps it as restartPolicy says, probing it while it runs. */
  private async startContainer(c: any): Promise<void> {
    const state = this.newState(c.name);
    await dockerOk(this.createArgs(c, state));
    state.started = true;
    const policy: string = this.spec.restartPolicy ?? 'Always';
    const loop = async (): Promise<void> => {
      for (;;) {
        await dockerOk(['start', state.docker]);
        this.event(`container ${c.name} started`);
        const run = new AbortController();
        const probing = this.probe(c, state, run.signal);
        const code = Number((await dockerOk(['wait', state.docker], 0)).trim());
        run.abort();
        await probing;
        state.ready = false;
        state.exits.push(code);
        this.event(`container ${c.name} exited ${code}`);
        const restart = !this.deleting && (policy === 'Always' || (policy === 'OnFailure' && code !== 0));
        if (!restart) {
          state.terminated = code;
          this.checkDone();
          return;
        }
        await this.backoff(state);
        if (this.stop.signal.aborted) {
          state.terminated = code;
          this.checkDone();
          return;
        }
      }
    };
    void loop();
  }

  private checkDone(): void {
    const all = [...this.containers.values()].filter((s) => (this.spec.containers as any[]).some((c) => c.name === s.name));
    if (all.length < this.spec.containers.length || all.some((s) => s.terminated === undefined)) return;
    this.doneResolve(all.every((s) => s.terminated === 0) ? 'Succeeded' : 'Failed');
  }

  private async watchReadiness(): Promise<void> {
    while (!this.stop.signal.aborted) {
      const states = (this.spec.containers as any[]).map((c) => this.containers.get(c.name));
      if (states.every((s) => s?.ready)) {
        this.event('Ready');
        this.readyResolve();
        return;
      }
      await sleep(200, undefined, { signal: this.stop.signal }).catch(() => undefined);
    }
  }

  /** One probe: true on success. */
  private async probeOnce(c: any, state: ContainerState, p: Probe): Promise<string | undefined> {
    const timeoutMs = (p.timeoutSeconds ?? 1) * 1000;
    try {
      if (p.httpGet) {
        const port = resolvePort(c, p.httpGet.port);
        const url = `${(p.httpGet.scheme ?? 'HTTP').toLowerCase()}://${this.facts.ip}:${port}${p.httpGet.path ?? '/'}`;
        const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { 'user-agent': 'kube-probe/1.33' } });
        await res.arrayBuffer();
        return res.status >= 200 && res.status < 400 ? undefined : `HTTP probe failed with statuscode: ${res.status}`;
      }
      if (p.tcpSocket) {
        const port = resolvePort(c, p.tcpSocket.port);
        await new Promise<void>((resolve, reject) => {
          const s = connect({ host: this.facts.ip, port, timeout: timeoutMs });
          s.once('connect', () => {
            s.destroy();
            resolve();
          });
          s.once('timeout', () => {
            s.destroy();
            reject(new Error('timeout'));
          });
          s.once('error', reject);
        });
        return undefined;
      }
      if (p.exec) {
        const r = await docker(['exec', state.docker, ...p.exec.command], timeoutMs);
        return r.code === 0 ? undefined : `exec probe exited ${r.code}: ${(r.stdout + r.stderr).trim().slice(0, 200)}`;
      }
      return 'probe of no known kind';
    } catch (err) {
      return `probe error: ${(err as Error).message}`;
    }
  }

  /**
   * The kubelet's probe workers for one container run: startup first (liveness and readiness wait for it),
   * then readiness and liveness each on its own period. Liveness or startup failing `failureThreshold`
   * times in a row kills the container; restartPolicy then decides.
   */
  private async probe(c: any, state: ContainerState, signal: AbortSignal): Promise<void> {
    const wait = (ms: number) => sleep(ms, undefined, { signal }).then(() => true, () => false);
    const kill = async (why: string) => {
      state.probeFailures.push(why);
      this.event(`${c.name}: ${why}; killing the container`);
      await docker(['kill', '--signal', 'SIGKILL', state.docker]);
    };
    const loop = async (p: Probe, onResult: (ok: boolean, failures: number, message?: string) => Promise<boolean> | boolean) => {
      if (!(await wait((p.initialDelaySeconds ?? 0) * 1000))) return;
      let failures = 0;
      let successes = 0;
      for (;;) {
        const message = await this.probeOnce(c, state, p);
        if (signal.aborted) return;
        if (message === undefined) {
          failures = 0;
          successes++;
        } else {
          successes = 0;
          failures++;
        }
        const ok = successes >= (p.successThreshold ?? 1);
        if (!(await onResult(ok, failures, message))) return;
        if (!(await wait((p.periodSeconds ?? 10) * 1000))) return;
      }
    };
    if (c.startupProbe) {
      let started = false;
      await loop(c.startupProbe, async (ok, failures, message) => {
        if (ok) return !(started = true);
        if (failures >= (c.startupProbe.failureThreshold ?? 3)) {
          await kill(`startup probe failed ${failures} times: ${message}`);
          return false;
        }
        return true;
      });
      if (!started) return;
    }
    const readiness = c.readinessProbe
      ? loop(c.readinessProbe, (ok, failures, message) => {
          if (ok) state.ready = true;
          else if (failures >= (c.readinessProbe.failureThreshold ?? 3)) {
            if (state.ready) this.event(`${c.name}: not ready: ${message}`);
            state.ready = false;
          }
          return true;
        })
      : Promise.resolve((state.ready = true));
    const liveness = c.livenessProbe
      ? loop(c.livenessProbe, async (ok, failures, message) => {
          if (!ok && failures >= (c.livenessProbe.failureThreshold ?? 3)) {
            await kill(`liveness probe failed ${failures} times: ${message}`);
            return false;
          }
          return true;
        })
      : Promise.resolve();
    await Promise.all([readiness, liveness]);
  }

  /**
   * Deletes the pod as the kubelet does: preStop hooks, SIGTERM, SIGKILL once
   * terminationGracePeriodSeconds (counted from the start of preStop) ends. Returns per container the
   * exit code and whether the grace period ran out.
   */
  async delete(): Promise<Map<string, { code: number | undefined; killed: boolean; seconds: number }>> {
    this.deleting = true;
    const grace = (this.spec.terminationGracePeriodSeconds ?? 30) * 1000;
    const started = Date.now();
    const out = new Map<string, { code: number | undefined; killed: boolean; seconds: number }>();
    await Promise.all(
      (this.spec.containers as any[]).map(async (c) => {
        const state = this.containers.get(c.name);
        if (!state?.started || state.terminated !== undefined) {
          out.set(c.name, { code: state?.terminated, killed: false, seconds: 0 });
          return;
        }
        const running = (await docker(['inspect', '-f', '{{.State.Running}}', state.docker])).stdout.trim() === 'true';
        if (!running) {
          out.set(c.name, { code: state.exits.at(-1), killed: false, seconds: 0 });
          return;
        }
        const preStop = c.lifecycle?.preStop;
        if (preStop?.exec) {
          const r = await docker(['exec', state.docker, ...preStop.exec.command], grace);
          if (r.code !== 0) this.event(`${c.name}: preStop hook failed (${r.code}): ${(r.stderr + r.stdout).trim()}`);
          else this.event(`${c.name}: preStop hook done`);
        } else if (preStop?.sleep) await sleep(preStop.sleep.seconds * 1000);
        else if (preStop) throw new Error(`preStop ${JSON.stringify(preStop)} is not emulated`);
        await docker(['kill', '--signal', 'SIGTERM', state.docker]);
        const left = Math.max(0, grace - (Date.now() - started));
        const waited = await Promise.race([dockerOk(['wait', state.docker], 0).then((s) => Number(s.trim())), sleep(left).then(() => undefined)]);
        let killed = false;
        if (waited === undefined) {
          killed = true;
          await docker(['kill', '--signal', 'SIGKILL', state.docker]);
        }
        const code = Number((await dockerOk(['inspect', '-f', '{{.State.ExitCode}}', state.docker])).trim());
        out.set(c.name, { code, killed, seconds: (Date.now() - started) / 1000 });
      }),
    );
    this.stop.abort();
    return out;
  }

  async logs(container: string): Promise<string> {
    const state = this.containers.get(container);
    if (!state) return '';
    const r = await docker(['logs', state.docker]);
    return r.stdout + r.stderr;
  }

  /** Removes the pod's Docker containers and its emptyDir volumes (PVCs stay, as in Kubernetes). */
  async remove(): Promise<void> {
    this.stop.abort();
    const names = [...this.containers.values()].map((s) => s.docker);
    await docker(['rm', '-f', ...names, this.pause]);
    const ephemeral = [...this.volumeNames.entries()].filter(([k]) => !this.claims.has(k) && !(this.spec.volumes ?? []).some((v: any) => v.name === k && v.persistentVolumeClaim)).map(([, v]) => v);
    if (ephemeral.length) await docker(['volume', 'rm', '-f', ...ephemeral]);
  }
}
