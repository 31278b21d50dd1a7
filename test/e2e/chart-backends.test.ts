/**
 * The chart's in-chart backends, run with this machine's real servers. NATS: nats-server: its StatefulSet's arguments (with
 * `$(POD_NAME)` expanded, and only the ports and the store directory moved so as not to meet the machine's
 * own NATS) pass `nats-server -t`, start a server with JetStream, and its probes' URLs answer as the kubelet
 * wants. The official image's newer release may differ (Debian has 2.9): docs/kubernetes.md.
 */
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import amqp from 'amqplib';
import { afterAll, describe, expect, it } from 'vitest';
import { freePort } from '../../src/core/net.js';
import { component, render } from '../chart/helm.js';
import { expand } from './chart/pod-spec.js';

const NATS_SERVER = spawnSync('nats-server', ['--version'], { encoding: 'utf8' });
const hasNats = NATS_SERVER.status === 0;
if (!hasNats) console.log('[chart backends] skipped: no nats-server binary (apt-get install nats-server)');
const READY_TIMEOUT_MS = 30_000;
// CI (.ci/run) installs the servers: there a missing one fails its check instead of skipping it.
const REQUIRED = process.env.NETLAB_REQUIRE_BROKERS === '1';

describe.skipIf(!hasNats && !REQUIRED)('the in-chart NATS with the real nats-server', () => {
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

/**
 * The in-chart PostgreSQL with Debian's server: the StatefulSet's PGDATA rule (a subdirectory of the
 * volume, which may hold lost+found) initialised and started as a non-root user, and its exec probes run
 * with the container's environment, as the kubelet runs them (`sh -c` inside the container). Only the port
 * is moved (PGPORT), away from this machine's own PostgreSQL.
 */
const PG_BIN = ['/usr/lib/postgresql/17/bin', '/usr/lib/postgresql/16/bin', '/usr/lib/postgresql/15/bin'].find((d) => spawnSync('test', ['-x', `${d}/postgres`]).status === 0);
const asRoot = process.getuid?.() === 0;
if (!PG_BIN || !asRoot) console.log(`[chart backends] PostgreSQL check skipped: ${PG_BIN ? 'not root (it runs the server as user postgres)' : 'no Debian PostgreSQL server binaries'}`);

describe.skipIf(!PG_BIN || !asRoot)('the in-chart PostgreSQL with the real server', () => {
  const volume = mkdtempSync(join(tmpdir(), 'netlab-chart-pg-'));
  let server: ReturnType<typeof spawn> | undefined;
  let dataDir = '';
  afterAll(async () => {
    // runuser does not pass signals on: stop the postmaster itself (fast shutdown), by its pid file.
    const pid = dataDir && existsSync(join(dataDir, 'postmaster.pid')) ? Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]) : 0;
    if (pid) {
      process.kill(pid, 'SIGINT');
      if (server && server.exitCode === null) await once(server, 'exit');
    }
    rmSync(volume, { recursive: true, force: true });
  });

  it('initialises PGDATA below the volume, starts, and passes its startup, readiness and liveness probes', async () => {
    const sts = render({ name: 'default values' }).find((o) => o.kind === 'StatefulSet' && component(o) === 'postgresql')!;
    const c = sts.spec.template.spec.containers[0];
    const env = new Map<string, string>();
    for (const e of c.env as { name: string; value?: string }[]) env.set(e.name, e.value ?? 'from-a-secret');
    const pgdata = env.get('PGDATA')!;
    const mount = (c.volumeMounts as { name: string; mountPath: string }[]).find((m) => m.name === 'data')!.mountPath;
    expect(pgdata.startsWith(`${mount}/`)).toBe(true);
    dataDir = join(volume, pgdata.slice(mount.length + 1));
    spawnSync('mkdir', ['-p', join(volume, 'lost+found')]);
    spawnSync('chown', ['-R', 'postgres', volume]);
    const port = String(await freePort());
    const asPostgres = (cmd: string, args: string[]) => spawnSync('runuser', ['-u', 'postgres', '--', cmd, ...args], { encoding: 'utf8', env: { ...process.env, PGPORT: port } });
    const init = asPostgres(`${PG_BIN}/initdb`, ['-D', dataDir, '-U', env.get('POSTGRES_USER')!, '--auth=trust']);
    expect(init.status, init.stderr).toBe(0);
    server = spawn('runuser', ['-u', 'postgres', '--', `${PG_BIN}/postgres`, '-D', dataDir, '-p', port, '-k', volume, '-c', 'listen_addresses=127.0.0.1'], { stdio: 'ignore' });
    // POSTGRES_DB is created by the official image's entrypoint on first start; here by hand.
    const probeEnv = { ...process.env, ...Object.fromEntries(env), PGPORT: port };
    const deadline = Date.now() + 30_000;
    while (spawnSync('pg_isready', ['-h', '127.0.0.1', '-p', port]).status !== 0) {
      if (Date.now() > deadline) throw new Error('PostgreSQL did not start');
      await sleep(200);
    }
    const created = spawnSync('psql', ['-h', '127.0.0.1', '-p', port, '-U', env.get('POSTGRES_USER')!, '-d', 'postgres', '-c', `CREATE DATABASE ${env.get('POSTGRES_DB')}`], { encoding: 'utf8' });
    expect(created.status, created.stderr).toBe(0);
    for (const probe of [c.startupProbe, c.readinessProbe, c.livenessProbe]) {
      const [cmd, ...args] = probe.exec.command as string[];
      const r = spawnSync(cmd!, args, { encoding: 'utf8', env: probeEnv });
      expect(r.status, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toMatch(/accepting connections/);
    }
  });
});

/**
 * The in-chart RabbitMQ with Debian's server (3.10; the chart's image is 4.1, docs/kubernetes.md): the
 * ConfigMap's rabbitmq.conf and enabled_plugins as the config directory, the StatefulSet's environment
 * (its user, the password from its Secret), and the URL the tick pods are given, with only the ports moved
 * away from this machine's own RabbitMQ (and its Erlang node name and distribution port).
 */
const RABBITMQ_SERVER = '/usr/lib/rabbitmq/bin/rabbitmq-server';
const hasRabbitmq = existsSync(RABBITMQ_SERVER);
if (!hasRabbitmq) console.log('[chart backends] RabbitMQ check skipped: no rabbitmq-server (apt-get install rabbitmq-server)');
const RABBITMQ_START_TIMEOUT_MS = 90_000;

describe.skipIf(!hasRabbitmq && !REQUIRED)('the in-chart RabbitMQ with the real server', () => {
  const dir = mkdtempSync(join(tmpdir(), 'netlab-chart-rabbitmq-'));
  let server: ReturnType<typeof spawn> | undefined;
  afterAll(async () => {
    if (server && server.exitCode === null) {
      server.kill('SIGTERM');
      await once(server, 'exit');
    }
    rmSync(dir, { recursive: true, force: true });
  });

  it('starts with the ConfigMap, creates the chart\'s user only, serves AMQP to the tick pods\' URL and metrics on its port', async () => {
    const objects = render({ name: 'default values' });
    const sts = objects.find((o) => o.kind === 'StatefulSet' && component(o) === 'rabbitmq')!;
    const config = objects.find((o) => o.kind === 'ConfigMap' && component(o) === 'rabbitmq')!;
    const secret = objects.find((o) => o.kind === 'Secret' && component(o) === 'rabbitmq')!;
    const c = sts.spec.template.spec.containers[0];
    const port = (name: string) => (c.ports as { name: string; containerPort: number }[]).find((p) => p.name === name)!.containerPort;
    expect(c.startupProbe.tcpSocket.port).toBe('amqp');
    const configMount = (c.volumeMounts as { name: string; mountPath: string }[]).find((m) => m.name === 'config')!.mountPath;
    expect(configMount).toBe('/etc/rabbitmq');

    const [amqpPort, metricsPort, distPort] = await Promise.all([freePort(), freePort(), freePort()]);
    const conf = config.data['rabbitmq.conf'] as string;
    expect(conf).toContain(`listeners.tcp.default = ${port('amqp')}`);
    expect(conf).toContain(`prometheus.tcp.port = ${port('metrics')}`);
    mkdirSync(join(dir, 'etc'));
    writeFileSync(join(dir, 'etc', 'rabbitmq.conf'), conf.replace(`listeners.tcp.default = ${port('amqp')}`, `listeners.tcp.default = ${amqpPort}`).replace(`prometheus.tcp.port = ${port('metrics')}`, `prometheus.tcp.port = ${metricsPort}`));
    writeFileSync(join(dir, 'etc', 'enabled_plugins'), config.data.enabled_plugins as string);

    const password = Buffer.from(secret.data.password as string, 'base64').toString();
    const vars = new Map<string, string>();
    for (const e of c.env as { name: string; value?: string; valueFrom?: { secretKeyRef: { name: string; key: string } } }[]) {
      if (e.valueFrom) expect(e.valueFrom.secretKeyRef).toEqual({ name: secret.metadata.name, key: 'password' });
      vars.set(e.name, e.value ?? password);
    }
    const home = join(dir, 'home');
    mkdirSync(home);
    const logs = join(dir, 'log');
    const nodeName = `netlab-chart-${process.pid}@localhost`;
    server = spawn(RABBITMQ_SERVER, [], {
      cwd: dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH,
        ...Object.fromEntries(vars),
        // Moved from the container's paths: the data volume is HOME there, the ConfigMap /etc/rabbitmq.
        HOME: home,
        RABBITMQ_MNESIA_BASE: join(home, 'mnesia'),
        RABBITMQ_LOG_BASE: logs,
        RABBITMQ_CONFIG_FILE: join(dir, 'etc', 'rabbitmq.conf'),
        RABBITMQ_ENABLED_PLUGINS_FILE: join(dir, 'etc', 'enabled_plugins'),
        RABBITMQ_NODENAME: nodeName,
        RABBITMQ_DIST_PORT: String(distPort),
      },
    });
    let console = '';
    server.stdout!.setEncoding('utf8').on('data', (s: string) => (console += s));
    server.stderr!.setEncoding('utf8').on('data', (s: string) => (console += s));
    // log.console = true: the startup is on the container's output, where `kubectl logs` reads it.
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`RabbitMQ did not start:\n${console.slice(-3000)}`)), RABBITMQ_START_TIMEOUT_MS);
      const check = () => {
        if (/Server startup complete/.test(console)) {
          clearTimeout(timer);
          resolve();
        }
      };
      server!.stdout!.on('data', check);
      server!.once('exit', (code) => reject(new Error(`RabbitMQ exited ${code}:\n${console.slice(-3000)}`)));
    });
    expect(console).toContain(`started TCP listener on [::]:${amqpPort}`);
    expect(console).toContain(`Created user '${vars.get('RABBITMQ_DEFAULT_USER')}'`);
    expect(console).not.toContain("Created user 'guest'");
    // log.file = false: no log file but the upgrade category's, which RabbitMQ before 3.11 writes anyway; the
    // chart gives its directory a writable volume, as the root filesystem is read-only.
    expect(existsSync(logs) ? readdirSync(logs).filter((f) => f !== `${nodeName}_upgrade.log`) : []).toEqual([]);
    expect(c.securityContext.readOnlyRootFilesystem).toBe(true);
    const logMount = (c.volumeMounts as { name: string; mountPath: string; readOnly?: boolean }[]).find((m) => m.mountPath === '/var/log/rabbitmq');
    expect(logMount, 'a writable volume at /var/log/rabbitmq').toBeDefined();
    expect(logMount!.readOnly).toBeFalsy();
    expect((sts.spec.template.spec.volumes as { name: string; emptyDir?: object }[]).find((v) => v.name === logMount?.name)?.emptyDir).toBeDefined();

    // The URL the tick pods get, with $(NETLAB_AMQP_PASSWORD) from the same Secret, reaches it and moves a message.
    const tick = objects.find((o) => o.kind === 'Deployment' && (o.spec.template.spec.containers[0].env as { name: string }[]).some((e) => e.name === 'NETLAB_AMQP_PASSWORD'))!;
    const tickEnv = tick.spec.template.spec.containers[0].env as { name: string; value?: string }[];
    const url = expand(tickEnv.find((e) => e.value?.startsWith('amqp://'))!.value!, new Map([['NETLAB_AMQP_PASSWORD', password]]));
    const local = url.replace(/@[^/@:]+:5672$/, `@127.0.0.1:${amqpPort}`);
    expect(local).not.toBe(url);
    const connection = await amqp.connect(local);
    try {
      const channel = await connection.createChannel();
      const { queue } = await channel.assertQueue('', { exclusive: true });
      channel.sendToQueue(queue, Buffer.from('tick'));
      const got = await new Promise<string>((resolve) => void channel.consume(queue, (m) => m && resolve(m.content.toString()), { noAck: true }));
      expect(got).toBe('tick');
    } finally {
      await connection.close();
    }
    // The image's guest/guest defaults are gone: only the chart's user gets in.
    await expect(amqp.connect(`amqp://guest:guest@127.0.0.1:${amqpPort}`)).rejects.toThrow(/ACCESS_REFUSED|403/);

    const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    expect(metrics.status).toBe(200);
    expect(await metrics.text()).toMatch(/^rabbitmq_connections_opened_total/m);
  }, RABBITMQ_START_TIMEOUT_MS + 30_000);
});
