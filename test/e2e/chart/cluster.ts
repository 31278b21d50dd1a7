/**
 * The controllers around the kubelet of kubelet.ts: Deployments (replicas), StatefulSets (ordinal pods,
 * one volume per claim template and pod, kept after deletion), Jobs (parallelism, completions,
 * backoffLimit, podFailurePolicy, pod back-off), and bare Pods (the `helm test` hook). One Docker
 * network is the cluster network; Services become network aliases of the pods they select.
 */
import { createServer, connect, type Server } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { docker, dockerOk } from './docker.js';
import { BACKOFF_INITIAL_MS, BACKOFF_MAX_MS, type ClusterConfig, Pod } from './kubelet.js';
import { labelsMatch, type Obj, storeOf } from './pod-spec.js';

export interface JobResult {
  condition: 'Complete' | 'Failed';
  reason: string;
  succeeded: number;
  failed: number;
  /** Container restarts of OnFailure pods, counted against backoffLimit. */
  restarts: number;
  ignored: number;
  pods: Pod[];
}

export class Cluster {
  readonly pods: Pod[] = [];
  readonly jobs = new Map<string, Promise<JobResult>>();
  private readonly forwarders: Server[] = [];
  private stopping = false;

  private constructor(readonly config: ClusterConfig, readonly gateway: string) {}

  /**
   * A cluster network, with `hostName` resolving to this machine's services on `forwardPorts` (a TCP
   * forward from the network's gateway to 127.0.0.1: the stand-in for external backends).
   */
  static async create(o: { prefix: string; namespace: string; objects: Obj[]; images: string[]; hostName: string; forwardPorts: number[]; log: (l: string) => void }): Promise<Cluster> {
    const network = `${o.prefix}-net`;
    await docker(['network', 'rm', network]);
    await dockerOk(['network', 'create', '--driver', 'bridge', network]);
    const gateway = (await dockerOk(['network', 'inspect', '-f', '{{(index .IPAM.Config 0).Gateway}}', network])).trim();
    const images = new Map<string, { entrypoint: string[]; cmd: string[]; user: string }>();
    for (const ref of o.images) {
      const c = JSON.parse(await dockerOk(['image', 'inspect', '-f', '{{json .Config}}', ref])) as { Entrypoint: string[] | null; Cmd: string[] | null; User: string };
      images.set(ref, { entrypoint: c.Entrypoint ?? [], cmd: c.Cmd ?? [], user: c.User ?? '' });
    }
    const cluster = new Cluster(
      {
        prefix: o.prefix,
        namespace: o.namespace,
        network,
        extraHosts: [`${o.hostName}:${gateway}`],
        store: storeOf(o.objects),
        services: o.objects.filter((x) => x.kind === 'Service'),
        images,
        log: o.log,
      },
      gateway,
    );
    for (const port of o.forwardPorts) await cluster.forward(port);
    return cluster;
  }

  private async forward(port: number): Promise<void> {
    const server = createServer((inbound) => {
      const outbound = connect({ host: '127.0.0.1', port });
      inbound.pipe(outbound).pipe(inbound);
      inbound.on('error', () => outbound.destroy());
      outbound.on('error', () => inbound.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.gateway, () => resolve());
    });
    this.forwarders.push(server);
  }

  /** Called when a pod has its IP (a Prometheus' service discovery listens here). */
  onPodStarted: (pod: Pod) => void = () => undefined;

  private newPod(name: string, template: any, claims?: Map<string, string>): Pod {
    const pod = new Pod(this.config, name, template, claims, (p) => this.onPodStarted(p));
    this.pods.push(pod);
    return pod;
  }

  /** Starts every workload among `objects`: Deployments, StatefulSets, Jobs; returns their pods. */
  async apply(objects: Obj[]): Promise<Pod[]> {
    const started: Pod[] = [];
    for (const o of objects) {
      if (o.kind === 'Deployment') {
        this.checkSelector(o);
        for (let i = 0; i < (o.spec.replicas ?? 1); i++) started.push(this.newPod(`${o.metadata.name}-${i}`, o.spec.template));
      } else if (o.kind === 'StatefulSet') {
        this.checkSelector(o);
        for (let i = 0; i < (o.spec.replicas ?? 1); i++) {
          const podName = `${o.metadata.name}-${i}`;
          const claims = new Map<string, string>();
          for (const t of o.spec.volumeClaimTemplates ?? []) {
            // A PVC outlives its pod and the StatefulSet (helm uninstall leaves it): a named volume.
            const volume = `${this.config.prefix}-pvc-${t.metadata.name}-${podName}`;
            await docker(['volume', 'create', volume]);
            claims.set(t.metadata.name, volume);
          }
          const template = { ...o.spec.template, spec: { ...o.spec.template.spec, hostname: podName, subdomain: o.spec.serviceName } };
          started.push(this.newPod(podName, template, claims));
        }
      } else if (o.kind === 'Job') this.jobs.set(o.metadata.name, this.runJob(o));
    }
    await Promise.all(started.map((p) => p.start()));
    return started;
  }

  private checkSelector(o: Obj): void {
    if (!labelsMatch(o.spec.selector?.matchLabels, o.spec.template.metadata?.labels ?? {})) throw new Error(`${o.kind} ${o.metadata.name}: selector does not match its pod template`);
  }

  /** A bare Pod (a `helm test` hook): started, run to its end under its restartPolicy. */
  async runPod(o: Obj): Promise<{ phase: 'Succeeded' | 'Failed'; pod: Pod }> {
    const pod = this.newPod(o.metadata.name, { metadata: o.metadata, spec: o.spec });
    await pod.start();
    return { phase: await pod.done, pod };
  }

  /** The Job controller: keeps `parallelism` pods running until `completions` succeed or the Job fails. */
  private async runJob(job: Obj): Promise<JobResult> {
    const spec = job.spec;
    const completions: number = spec.completions ?? 1;
    const parallelism: number = spec.parallelism ?? 1;
    const backoffLimit: number = spec.backoffLimit ?? 6;
    const deadline = spec.activeDeadlineSeconds ? Date.now() + spec.activeDeadlineSeconds * 1000 : Infinity;
    const template = spec.template;
    const policy: string = template.spec.restartPolicy;
    if (policy !== 'Never' && policy !== 'OnFailure') throw new Error(`Job ${job.metadata.name}: restartPolicy must be Never or OnFailure`);
    if (spec.podFailurePolicy && policy !== 'Never') throw new Error(`Job ${job.metadata.name}: podFailurePolicy needs restartPolicy Never`);
    const result: JobResult = { condition: 'Complete', reason: '', succeeded: 0, failed: 0, restarts: 0, ignored: 0, pods: [] };
    const active = new Set<Promise<void>>();
    let created = 0;
    let failedPods = 0;
    let failJob = '';
    const restartsOf = (p: Pod) => [...p.containers.values()].reduce((n, s) => n + s.restarts, 0);
    const failures = () => result.failed + result.pods.filter(() => policy === 'OnFailure').reduce((n, p) => n + restartsOf(p), 0);

    const one = async (): Promise<void> => {
      const pod = this.newPod(`${job.metadata.name}-${created++}`, template);
      result.pods.push(pod);
      await pod.start();
      // OnFailure: the kubelet restarts failed containers; each restart counts towards backoffLimit.
      const phase = await Promise.race([pod.done, this.watchBackoff(pod, () => failures() > backoffLimit || this.stopping)]);
      if (phase === 'Succeeded') {
        result.succeeded++;
        return;
      }
      if (phase === 'Failed') {
        const action = this.failureAction(spec.podFailurePolicy, pod);
        if (action === 'Ignore') result.ignored++;
        else if (action === 'FailJob') failJob = `PodFailurePolicy: ${pod.name}`;
        else {
          result.failed++;
          failedPods++;
        }
        return;
      }
      // Over the limit while still restarting: the controller deletes the pod.
      await pod.delete();
    };

    while (result.succeeded < completions) {
      if (failJob) return this.endJob(result, 'Failed', failJob);
      if (failures() > backoffLimit) return this.endJob(result, 'Failed', 'BackoffLimitExceeded');
      if (Date.now() > deadline) return this.endJob(result, 'Failed', 'DeadlineExceeded');
      if (this.stopping) return this.endJob(result, 'Failed', 'deleted');
      const wanted = Math.min(parallelism, completions - result.succeeded);
      if (active.size < wanted) {
        // A failed pod is replaced after the controller's back-off (10 s doubling).
        if (failedPods > 0 && policy === 'Never') await sleep(Math.min(BACKOFF_INITIAL_MS * 2 ** (failedPods - 1), BACKOFF_MAX_MS));
        const p: Promise<void> = one().finally(() => active.delete(p));
        active.add(p);
        continue;
      }
      await Promise.race([...active, sleep(1000)]);
    }
    await Promise.all(active);
    result.reason = `${result.succeeded} of ${completions} completions`;
    return result;
  }

  private async watchBackoff(pod: Pod, over: () => boolean): Promise<'over'> {
    while (!over()) await sleep(500);
    return 'over';
  }

  private async endJob(result: JobResult, condition: 'Failed', reason: string): Promise<JobResult> {
    result.condition = condition;
    result.reason = reason;
    await Promise.all(result.pods.filter((p) => !p.deleting).map((p) => p.delete()));
    return result;
  }

  /** The first podFailurePolicy rule that matches a failed pod's exit codes, as the Job controller reads it. */
  private failureAction(policy: any, pod: Pod): 'Ignore' | 'FailJob' | 'Count' {
    for (const rule of policy?.rules ?? []) {
      const codes = rule.onExitCodes;
      if (!codes) continue;
      const matches = [...pod.containers.values()].some((s) => {
        if (codes.containerName && codes.containerName !== s.name) return false;
        const code = s.terminated;
        if (code === undefined || code === 0) return false;
        return codes.operator === 'In' ? codes.values.includes(code) : !codes.values.includes(code);
      });
      if (matches) return rule.action;
    }
    return 'Count';
  }

  /** Deletes every pod as the kubelet would (preStop, SIGTERM, grace), then removes what Docker holds. */
  async deleteAll(): Promise<Map<string, Map<string, { code: number | undefined; killed: boolean; seconds: number }>>> {
    this.stopping = true;
    const out = new Map<string, Map<string, { code: number | undefined; killed: boolean; seconds: number }>>();
    await Promise.all(this.pods.filter((p) => !p.deleting).map(async (p) => out.set(p.name, await p.delete())));
    return out;
  }

  /** Removes every container, the network and (with `volumes`) the PVC volumes of this run. */
  async teardown(volumes: boolean): Promise<void> {
    this.stopping = true;
    await Promise.all(this.pods.map((p) => p.remove()));
    for (const f of this.forwarders) f.close();
    await docker(['network', 'rm', this.config.network]);
    if (volumes) {
      const list = (await docker(['volume', 'ls', '-q', '--filter', `name=${this.config.prefix}-`])).stdout.split('\n').filter(Boolean);
      if (list.length) await docker(['volume', 'rm', '-f', ...list]);
    }
  }
}
