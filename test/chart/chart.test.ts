/**
 * charts/netlab, rendered offline by the Helm 4 binary shipped in an npm package: lint, Kubernetes schema
 * validation of every object (kubernetes-models), fields the schemas do not know, and the conventions
 * of manifest-checks.ts, for several combinations of values.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as appsV1 from 'kubernetes-models/apps/v1';
import * as autoscalingV2 from 'kubernetes-models/autoscaling/v2';
import * as batchV1 from 'kubernetes-models/batch/v1';
import * as policyV1 from 'kubernetes-models/policy/v1';
import * as coreV1 from 'kubernetes-models/v1';
import { beforeAll, describe, expect, it } from 'vitest';
import { byKind, CHART, component, helm, helmBinary, type K8sObject, NAMESPACE, RELEASE, render, ROOT, type Scenario, valueArgs } from './helm.js';
import { checkGracePeriods, checkLabels, checkProbes, checkReferences, checkSecurity, checkServices, podOf } from './manifest-checks.js';
import { checkRoleCommand, roleCommands } from './role-args.js';
import { declarationFile, unknownFields } from './strict-fields.js';

const MONITORING_APIS = ['monitoring.coreos.com/v1/PodMonitor', 'monitoring.coreos.com/v1/ServiceMonitor'];
const SCENARIOS: Scenario[] = [
  { name: 'default values' },
  { name: 'everything on', valuesFiles: ['all-on.yaml'] },
  { name: 'external database and brokers', valuesFiles: ['external.yaml'], externalSecrets: ['broker-credentials'] },
  { name: 'monitoring CRDs present', apiVersions: MONITORING_APIS, set: ['monitoring.podMonitor.labels.release=kps'] },
  { name: 'the kind cluster of k8s/up.sh', valuesFiles: ['k8s/netlab.values.yaml'] },
];

type ModelClass = new (data: any) => { validate(): void };
const MODELS: Record<string, Record<string, unknown>> = { v1: coreV1, 'apps/v1': appsV1, 'batch/v1': batchV1, 'policy/v1': policyV1, 'autoscaling/v2': autoscalingV2 };

/** Validates against the Kubernetes OpenAPI schema (kubernetes-models) and against its field names. */
function schemaProblems(o: K8sObject): string[] {
  const where = `${o.kind}/${o.metadata?.name}`;
  if (o.apiVersion === 'monitoring.coreos.com/v1') {
    const endpoints = o.kind === 'PodMonitor' ? o.spec?.podMetricsEndpoints : o.spec?.endpoints;
    return o.spec?.selector?.matchLabels && Array.isArray(endpoints) && endpoints.length > 0 ? [] : [`${where}: no selector or endpoints`];
  }
  const Model = MODELS[o.apiVersion]?.[o.kind] as ModelClass | undefined;
  const file = declarationFile(o.apiVersion, o.kind);
  if (!Model || !file) return [`${where}: ${o.apiVersion} ${o.kind} is not a Kubernetes kind the test knows`];
  const problems: string[] = [];
  try {
    new Model(o).validate();
  } catch (err) {
    problems.push(`${where}: ${(err as Error).message}`);
  }
  for (const path of unknownFields(o, file)) problems.push(`${where}: unknown field ${path}`);
  return problems;
}

const rendered = new Map<string, K8sObject[]>();
const objects = (name: string): K8sObject[] => rendered.get(name)!;

beforeAll(() => {
  helmBinary();
  for (const s of SCENARIOS) rendered.set(s.name, render(s));
});

describe.each(SCENARIOS)('chart with $name', (scenario) => {
  it('passes helm lint --strict', () => {
    // lint has no --api-versions: the monitoring switches stand in for the CRDs.
    const crds = scenario.apiVersions ? ['monitoring.podMonitor.enabled=true', 'monitoring.serviceMonitor.enabled=true'] : [];
    const result = helm(['lint', '--strict', CHART, '--namespace', NAMESPACE, ...valueArgs({ ...scenario, apiVersions: [], set: [...(scenario.set ?? []), ...crds] })]);
    expect(result.stderr + result.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
    expect(result.status).toBe(0);
  });

  it('renders only objects valid against the Kubernetes schemas, with no unknown fields', () => {
    const all = objects(scenario.name);
    expect(all.length).toBeGreaterThan(5);
    expect(all.flatMap(schemaProblems)).toEqual([]);
  });

  it('labels every object and selects pods by component', () => {
    expect(checkLabels(objects(scenario.name))).toEqual([]);
  });

  it('runs every container non-root on a read-only root with /tmp, limits and requests', () => {
    expect(checkSecurity(objects(scenario.name))).toEqual([]);
  });

  it('probes every long-running container on ports it declares', () => {
    expect(checkProbes(objects(scenario.name))).toEqual([]);
  });

  it('gives each pod the time for preStop plus the role\'s drain', () => {
    expect(checkGracePeriods(objects(scenario.name))).toEqual([]);
  });

  it('points every Service at one workload and at ports it declares', () => {
    expect(checkServices(objects(scenario.name))).toEqual([]);
  });

  it('refers only to Secrets, ConfigMaps, volumes and variables that exist', () => {
    expect(checkReferences(objects(scenario.name), scenario.externalSecrets)).toEqual([]);
  });

  it('passes netlab only flags and env values its roles accept', async () => {
    const commands = roleCommands(objects(scenario.name));
    expect(commands.length).toBeGreaterThan(0);
    const problems = (await Promise.all(commands.map(checkRoleCommand))).flat();
    expect(problems).toEqual([]);
  });
});

describe('chart objects', () => {
  const find = (list: K8sObject[], kind: string, comp: string) => list.find((o) => o.kind === kind && component(o) === comp);

  it('uses by default the image the documented build makes', () => {
    const build = (JSON.parse(readFileSync(`${ROOT}package.json`, 'utf8')) as { scripts: Record<string, string> }).scripts['docker:build']!;
    const tag = /-t (\S+)/.exec(build)![1];
    const netlabImages = new Set(objects('default values').flatMap((o) => podOf(o)?.spec.containers ?? []).map((c: { image: string }) => c.image).filter((i: string) => i.startsWith('netlab')));
    expect([...netlabImages]).toEqual([tag]);
  });

  it('injects no service-link variables into any pod, whatever is switched on', () => {
    for (const s of SCENARIOS) {
      const pods = objects(s.name).flatMap((o) => { const p = podOf(o); return p ? [[`${o.kind}/${o.metadata.name}`, p.spec] as const] : []; });
      expect(pods.length).toBeGreaterThan(3);
      for (const [where, pod] of pods) expect(pod.enableServiceLinks, `${s.name}: ${where}`).toBe(false);
    }
  });

  it('keeps the test pod for `helm test --logs` with Helm 3 and keeps generated passwords across an uninstall', () => {
    const all = objects('default values');
    const hooks = all.filter((o) => o.metadata.annotations?.['helm.sh/hook'] === 'test');
    expect(hooks.length).toBe(1);
    for (const h of hooks) expect(h.metadata.annotations!['helm.sh/hook-delete-policy']).toBe('before-hook-creation');
    const secrets = byKind(all, 'Secret').filter((o) => ['postgresql', 'rabbitmq'].includes(component(o)!));
    expect(secrets.map(component).sort()).toEqual(['postgresql', 'rabbitmq']);
    for (const secret of secrets) expect(secret.metadata.annotations?.['helm.sh/resource-policy']).toBe('keep');
  });

  it('renders the same objects with Helm 3 (3.17) as with Helm 4, and passes its lint', () => {
    const lint = helm(['lint', '--strict', CHART, '--namespace', NAMESPACE], 3);
    expect(lint.stderr + lint.stdout).toContain('1 chart(s) linted, 0 chart(s) failed');
    const strip = (list: K8sObject[]) => list.map((o) => JSON.stringify(o, (k, v) => (k === 'password' || k === 'checksum/config' ? '' : v))).sort();
    expect(strip(render({ name: 'default values' }, 3))).toEqual(strip(objects('default values')));
  });

  it('replaces workers that exit by the rule inside their pod, so the Job never crash-loops', () => {
    const job = byKind(objects('default values'), 'Job').find((o) => component(o) === 'worker')!;
    const args: string[] = job.spec.template.spec.containers[0].args;
    expect(args).toContain('--respawn');
    expect(args).toContain('--count=1');
    expect(job.spec.backoffLimit).toBeLessThanOrEqual(10);
  });

  it('deploys every role by default, with the dependencies as StatefulSets from official images', () => {
    const all = objects('default values');
    const messenger = find(all, 'Deployment', 'messenger')!;
    expect(messenger.spec.replicas).toBe(2);
    expect(find(all, 'Service', 'messenger')).toBeDefined();
    expect(find(all, 'PodDisruptionBudget', 'messenger')).toBeDefined();
    expect(find(all, 'HorizontalPodAutoscaler', 'messenger')).toBeUndefined();
    const images = Object.fromEntries(byKind(all, 'StatefulSet').map((s) => [component(s), s.spec.template.spec.containers[0].image]));
    expect(images).toEqual({ postgresql: 'postgres:17', nats: 'nats:2.11-alpine', rabbitmq: 'rabbitmq:4.1', dispatcher: 'netlab:local' });
    expect(find(all, 'StatefulSet', 'nats')!.spec.template.spec.containers[0].args).toContain('--jetstream');
    const ticks = byKind(all, 'Deployment').filter((d) => component(d)?.startsWith('tick-')).map(component).sort();
    expect(ticks).toEqual(['tick-nats-app1', 'tick-nats-app2', 'tick-rabbitmq-app1', 'tick-rabbitmq-app2']);
    expect(find(all, 'Service', 'pingpong-server')).toBeDefined();
    expect(find(all, 'Deployment', 'pingpong-client')).toBeDefined();
    expect(find(all, 'Service', 'echo-server')).toBeDefined();
    const dispatcher = find(all, 'StatefulSet', 'dispatcher')!;
    expect(dispatcher.spec.replicas).toBe(1);
    expect(dispatcher.spec.volumeClaimTemplates[0].spec.accessModes).toEqual(['ReadWriteOnce']);
    const workers = find(all, 'Job', 'worker')!;
    expect(workers.spec.template.spec.restartPolicy).toBe('OnFailure');
    expect(workers.spec.parallelism).toBe(10);
    // The benches and k6 are opt-in Jobs.
    expect(byKind(all, 'Job').map(component)).toEqual(['worker']);
  });

  it('keeps credentials in Secrets, never in the pod specs', () => {
    const all = objects('default values');
    const text = JSON.stringify(all.filter((o) => podOf(o)));
    const passwords = byKind(all, 'Secret').map((s) => Buffer.from(s.data.password, 'base64').toString());
    expect(passwords).toHaveLength(2);
    for (const p of passwords) expect(text).not.toContain(p);
    const env = find(all, 'Deployment', 'messenger')!.spec.template.spec.containers[0].env;
    expect(env.find((e: any) => e.name === 'DATABASE_URL').value).toBe(`postgres://netlab:$(NETLAB_PG_PASSWORD)@${RELEASE}-netlab-postgresql:5432/netlab`);
  });

  it('renders the benches, k6 with its script, and the HPA when asked', () => {
    const all = objects('everything on');
    expect(byKind(all, 'Job').map(component).sort()).toEqual(['echo-bench', 'k6', 'messenger-bench', 'worker']);
    expect(find(all, 'Deployment', 'messenger')!.spec.replicas).toBeUndefined();
    expect(find(all, 'HorizontalPodAutoscaler', 'messenger')).toBeDefined();
    const scripts = find(all, 'ConfigMap', 'k6')!.data as Record<string, string>;
    for (const file of readdirSync(`${ROOT}/loadtest`).filter((f) => f.endsWith('.js'))) {
      // charts/netlab/files/k6 is a copy of loadtest/ (Helm reads only files inside the chart): npm run chart:sync-k6
      expect(scripts[file], `${file} in the k6 ConfigMap differs from loadtest/${file}`).toBe(readFileSync(`${ROOT}/loadtest/${file}`, 'utf8').replace(/\n$/, ''));
    }
    const bench = find(all, 'Job', 'messenger-bench')!.spec.template.spec.containers[0].args;
    expect(bench).toEqual(expect.arrayContaining(['messenger-bench', '--verify']));
  });

  it('takes external database and broker URLs instead of the in-chart ones', () => {
    const all = objects('external database and brokers');
    expect(byKind(all, 'StatefulSet').map(component)).toEqual(['dispatcher']);
    const messengerEnv = find(all, 'Deployment', 'messenger')!.spec.template.spec.containers[0].env;
    expect(messengerEnv.find((e: any) => e.name === 'DATABASE_URL').valueFrom.secretKeyRef.name).toBe(`${RELEASE}-netlab-external-database`);
    const natsArgs = find(all, 'Deployment', 'tick-nats-app1')!.spec.template.spec.containers[0].args;
    expect(natsArgs).toContain('--bus=nats://nats.example.internal:4222');
    const amqpEnv = find(all, 'Deployment', 'tick-rabbitmq-app1')!.spec.template.spec.containers[0].env;
    expect(amqpEnv.find((e: any) => e.name === 'TICK_BUS').valueFrom.secretKeyRef).toEqual({ name: 'broker-credentials', key: 'url' });
  });

  it('renders a PodMonitor with extra labels only when the CRDs exist or the switch says so', () => {
    expect(byKind(objects('default values'), 'PodMonitor')).toEqual([]);
    const [monitor] = byKind(objects('monitoring CRDs present'), 'PodMonitor');
    expect(monitor!.metadata.labels!.release).toBe('kps');
    expect(monitor!.spec.podMetricsEndpoints[0].port).toBe('metrics');
    expect(byKind(objects('monitoring CRDs present'), 'ServiceMonitor')).toEqual([]); // off unless asked
    expect(byKind(render({ name: 'off', apiVersions: MONITORING_APIS, set: ['monitoring.podMonitor.enabled=false'] }), 'PodMonitor')).toEqual([]);
    expect(byKind(objects('everything on'), 'ServiceMonitor')).toHaveLength(1);
  });

  it('scrapes every netlab role pod through a port named metrics', () => {
    const all = objects('everything on');
    for (const o of all) {
      const pod = podOf(o);
      if (!pod || !String(pod.spec.containers[0].image).startsWith('netlab:') || o.kind === 'Pod') continue;
      expect(pod.spec.containers[0].ports?.map((p: any) => p.name), `${o.kind}/${o.metadata.name}`).toContain('metrics');
    }
  });

  it('ships one dashboard ConfigMap per dashboard file, with the configurable sidecar label', () => {
    const files = readdirSync(`${CHART}/dashboards`).filter((f) => f.endsWith('.json'));
    expect(files.length).toBeGreaterThanOrEqual(6);
    const maps = byKind(objects('everything on'), 'ConfigMap').filter((c) => component(c) === 'dashboards');
    expect(maps).toHaveLength(files.length);
    for (const map of maps) {
      expect(map.metadata.labels!.grafana_dashboard).toBe('1');
      expect(map.metadata.namespace).toBe('monitoring');
      expect(map.metadata.annotations!.grafana_folder).toBe('netlab');
      for (const json of Object.values(map.data as Record<string, string>)) expect(() => JSON.parse(json)).not.toThrow();
    }
    const relabelled = render({ name: 'label', set: ['dashboards.label=my_dashboards', 'dashboards.labelValue=yes'] });
    expect(byKind(relabelled, 'ConfigMap').filter((c) => component(c) === 'dashboards').every((c) => c.metadata.labels!.my_dashboards === 'yes')).toBe(true);
  });

  it('has a helm test pod that runs netlab\'s own verified round trip', () => {
    const [test] = byKind(objects('default values'), 'Pod');
    expect(test!.metadata.annotations!['helm.sh/hook']).toBe('test');
    expect(test!.spec.containers[0].args).toEqual(expect.arrayContaining(['messenger-bench', '--verify', `--url=http://${RELEASE}-netlab-messenger:8080`]));
  });

  it('switches each role off with <role>.enabled', () => {
    const switches: Array<[string, string[]]> = [
      ['messenger.enabled', ['messenger']],
      ['tick.enabled', ['tick-nats-app1', 'tick-rabbitmq-app2']],
      ['pingpong.server.enabled', ['pingpong-server']],
      ['pingpong.client.enabled', ['pingpong-client']],
      ['echo.enabled', ['echo-server']],
      ['workers.enabled', ['worker']],
      ['postgresql.enabled', ['postgresql']],
    ];
    const on = objects('default values').map(component);
    for (const [flag, components] of switches) {
      const extra = flag === 'postgresql.enabled' ? ['externalDatabase.url=postgres://u:p@db:5432/netlab'] : [];
      const off = render({ name: `${flag} off`, set: [`${flag}=false`, ...extra] }).map(component);
      for (const c of components) {
        expect(on, flag).toContain(c);
        expect(off, flag).not.toContain(c);
      }
    }
    const dispatcherOff = render({ name: 'no dispatcher', set: ['dispatcher.enabled=false', 'workers.enabled=false'] }).map(component);
    expect(dispatcherOff).not.toContain('dispatcher');
  });
});

describe('chart values', () => {
  const fails = (set: string[]) => helm(['template', RELEASE, CHART, ...set.flatMap((s) => ['--set', s])]);

  it('rejects a misspelt key, naming it (values.schema.json, additionalProperties false)', () => {
    const result = fails(['messenger.replica=3']);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/additional properties 'replica' not allowed/);
  });

  it('rejects values of the wrong type or out of range', () => {
    expect(fails(['logLevel=verbose']).status).not.toBe(0);
    expect(fails(['messenger.port=70000']).status).not.toBe(0);
    expect(fails(['echo.model=fork']).status).not.toBe(0);
    expect(fails(['postgresql.auth.password=p@ss/word']).status).not.toBe(0);
  });

  it('says what is missing when a dependency is off without an external URL', () => {
    expect(fails(['postgresql.enabled=false']).stderr).toMatch(/externalDatabase\.url/);
    expect(fails(['nats.enabled=false']).stderr).toMatch(/externalNats\.url/);
    expect(fails(['rabbitmq.enabled=false']).stderr).toMatch(/externalRabbitmq\.url/);
    expect(fails(['dispatcher.enabled=false']).stderr).toMatch(/workers\.enabled needs dispatcher\.enabled/);
  });
});

describe('the manifest checks themselves', () => {
  const messengerOf = (objs: K8sObject[]) => objs.find((o) => o.kind === 'Deployment' && component(o) === 'messenger')!;

  it('catch a writable root filesystem and a flag or env variable netlab does not know', async () => {
    const objs = render({ name: 'broken', set: ['containerSecurityContext.readOnlyRootFilesystem=false', 'messenger.extraArgs[0]=--pool-siz=3', 'messenger.extraEnv[0].name=POOL_SIZ', 'messenger.extraEnv[0].value=3'] });
    expect(checkSecurity(objs).some((p) => p.includes('root filesystem not read-only'))).toBe(true);
    const problems = (await Promise.all(roleCommands([messengerOf(objs)]).map(checkRoleCommand))).flat();
    expect(problems.join('\n')).toMatch(/unknown flag --pool-siz/);
    expect(problems.join('\n')).toMatch(/env POOL_SIZ is read by no option/);
  });

  it('catch a Service port, a probe port and a selector that point at nothing', () => {
    const objs = structuredClone(objects('default values'));
    const messenger = messengerOf(objs);
    const service = objs.find((o) => o.kind === 'Service' && component(o) === 'messenger')!;
    service.spec.ports[0].targetPort = 'htp';
    messenger.spec.template.spec.containers[0].readinessProbe.httpGet.port = 'admin';
    messenger.spec.selector.matchLabels['app.kubernetes.io/component'] = 'messenger-x';
    expect(checkServices(objs).join('\n')).toMatch(/targets htp/);
    expect(checkProbes(objs).join('\n')).toMatch(/readinessProbe targets port admin/);
    expect(checkLabels(objs).join('\n')).toMatch(/does not match its pod labels/);
    expect(unknownFields({ spec: { template: { spec: { containers: [{ name: 'a', readinesProbe: {} }] } } } }, declarationFile('apps/v1', 'Deployment')!)).toEqual(['.spec.template.spec.containers[0].readinesProbe']);
  });
});
