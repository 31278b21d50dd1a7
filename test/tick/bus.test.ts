/** The two transports against the real brokers: delivery both ways, an outage through a proxy, a broker absent at start. */
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createBus, type Bus, type BusStatus } from '../../src/tick/bus.js';
import { freePort } from '../helpers/netlab-process.js';
import { brokerGates, randomChannel, startTcpProxy, until, type TcpProxy } from './brokers.js';

const gates = await brokerGates();
/** The issue: the app resumes within 5 s of the broker returning. */
const RESUME_WITHIN_MS = 5000;

for (const gate of gates) {
  describe.runIf(gate.run)(`${gate.kind} bus`, () => {
    const cleanup: (() => Promise<void>)[] = [];
    beforeAll(() => gate.assertAvailable());
    afterEach(async () => {
      for (const fn of cleanup.splice(0).reverse()) await fn();
    });

    async function open(url: string, listenKey: string) {
      const statuses: BusStatus[] = [];
      const received: string[] = [];
      const bus: Bus = await createBus(url, { clientName: 'netlab-tick-test' });
      bus.onStatus((s) => statuses.push(s));
      bus.subscribe(listenKey, (body) => received.push(new TextDecoder().decode(body)));
      bus.start();
      cleanup.push(() => bus.close());
      return { bus, statuses, received };
    }
    const msg = (text: string) => new TextEncoder().encode(text);

    /** Publishes until one gets through (a subscription may take a moment to reach the broker). */
    async function deliver(from: Bus, key: string, to: string[], text: string, timeoutMs = 5000) {
      const deadline = Date.now() + timeoutMs;
      while (!to.includes(text)) {
        if (Date.now() > deadline) throw new Error(`"${text}" never arrived`);
        from.publish(key, msg(text));
        await new Promise((r) => setTimeout(r, 50));
      }
    }

    it('delivers in both directions between two apps', async () => {
      const ch = randomChannel('bus');
      const a = await open(gate.url, `${ch}.app2`);
      const b = await open(gate.url, `${ch}.app1`);
      await until(() => a.bus.connected && b.bus.connected, 'both connected');
      expect(a.statuses[0]).toEqual({ type: 'connected', reconnect: false });
      await deliver(a.bus, `${ch}.app1`, b.received, 'from app1');
      await deliver(b.bus, `${ch}.app2`, a.received, 'from app2');
      // Each side only hears the other's key.
      expect(a.received).toEqual(['from app2']);
      expect(b.received).toEqual(['from app1']);
    });

    it('survives a broker outage: refuses to publish while cut, resumes within 5 s of the broker returning', async () => {
      const proxy = await startTcpProxy(gate.url);
      cleanup.push(() => proxy.close());
      const ch = randomChannel('outage');
      const a = await open(proxy.rewrite(gate.url), `${ch}.app2`);
      const b = await open(gate.url, `${ch}.app1`);
      await until(() => a.bus.connected && b.bus.connected, 'both connected');
      await deliver(a.bus, `${ch}.app1`, b.received, 'before');

      const atCut = a.statuses.length;
      proxy.cut();
      await until(() => a.statuses.some((s) => s.type === 'disconnected'), 'the disconnect to be noticed');
      expect(a.bus.connected).toBe(false);
      expect(a.bus.publish(`${ch}.app1`, msg('during'))).toBe(false);
      await new Promise((r) => setTimeout(r, 1500)); // a few reconnect attempts hit the dead proxy

      const atRestore = a.statuses.length;
      proxy.restore();
      // The bound: `until` fails the test if the bus is not connected within RESUME_WITHIN_MS of the restore.
      await until(() => a.bus.connected, 'reconnect', RESUME_WITHIN_MS);
      // No connection through the dead proxy while it was cut, and exactly one reconnect after the restore.
      expect(a.statuses.slice(atCut, atRestore).filter((s) => s.type === 'connected')).toEqual([]);
      expect(a.statuses.slice(atRestore).filter((s) => s.type === 'connected')).toEqual([{ type: 'connected', reconnect: true }]);
      expect(a.statuses.at(-1)).toEqual({ type: 'connected', reconnect: true });
      // Publishing and the subscription (re-declared topology on RabbitMQ) both work again.
      await deliver(a.bus, `${ch}.app1`, b.received, 'after');
      await deliver(b.bus, `${ch}.app2`, a.received, 'back to app1');
      expect(b.received).not.toContain('during');
      // An outage is a disconnect, not a subscription the broker ended.
      expect(a.statuses.filter((s) => s.type === 'subscription-lost')).toEqual([]);
      expect(a.bus.subscribed).toBe(true);
    });

    it('status listeners come and go after the bus exists: each hears the real disconnect until it unsubscribes', async () => {
      const proxy = await startTcpProxy(gate.url);
      cleanup.push(() => proxy.close());
      const ch = randomChannel('listeners');
      const a = await open(proxy.rewrite(gate.url), `${ch}.app2`);
      await until(() => a.bus.connected, 'connected');
      // Subscribed after start and after the first connection: it hears what comes from then on.
      const late: BusStatus[] = [];
      const stopLate = a.bus.onStatus((s) => late.push(s));
      const gone: BusStatus[] = [];
      a.bus.onStatus((s) => gone.push(s))();
      proxy.cut();
      await until(() => late.some((s) => s.type === 'disconnected'), 'the late listener to hear the disconnect');
      expect(a.statuses.filter((s) => s.type === 'disconnected')).toHaveLength(late.filter((s) => s.type === 'disconnected').length);
      stopLate();
      const heardBeforeRestore = late.length;
      proxy.restore();
      await until(() => a.statuses.at(-1)?.type === 'connected', 'the first listener to hear the reconnect', RESUME_WITHIN_MS);
      expect(late).toHaveLength(heardBeforeRestore);
      expect(gone).toEqual([]);
    });

    it('a handler that throws loses that one message, never the subscription or the connection', async () => {
      const ch = randomChannel('throw');
      const statuses: BusStatus[] = [];
      const received: string[] = [];
      const a: Bus = await createBus(gate.url, { clientName: 'netlab-tick-test' });
      a.onStatus((s) => statuses.push(s));
      a.subscribe(`${ch}.app2`, (body) => {
        const text = new TextDecoder().decode(body);
        // What prom-client threw at a dt of -Infinity, reaching the client's reader.
        if (text.startsWith('poison')) throw new TypeError('Value is not a valid number: -Infinity');
        received.push(text);
      });
      a.start();
      cleanup.push(() => a.close());
      const b = await open(gate.url, `${ch}.app1`);
      await until(() => a.connected && b.bus.connected, 'both connected');
      await deliver(b.bus, `${ch}.app2`, received, 'before');
      for (let i = 0; i < 3; i++) b.bus.publish(`${ch}.app2`, msg(`poison ${i}`));
      await until(() => statuses.filter((s) => s.type === 'handler-failed').length === 3, 'three handler failures reported');
      expect(statuses.find((s) => s.type === 'handler-failed')).toEqual({ type: 'handler-failed', key: `${ch}.app2`, reason: 'Value is not a valid number: -Infinity' });
      // The reader lives on: (before the fix NATS's reader died silently, RabbitMQ closed the channel with 541).
      await deliver(b.bus, `${ch}.app2`, received, 'after');
      expect(statuses.filter((s) => s.type === 'disconnected')).toEqual([]);
      expect(a.subscribed).toBe(true);
    });

    it('subscribes again when the broker ends the subscription while the connection stays up', async () => {
      const ch = randomChannel('resub');
      const a = await open(gate.url, `${ch}.app2`);
      const b = await open(gate.url, `${ch}.app1`);
      await until(() => a.bus.connected && b.bus.connected, 'both connected');
      await deliver(b.bus, `${ch}.app2`, a.received, 'before');
      // End it at the broker: RabbitMQ deletes the queue (and cancels its consumer); the NATS server
      // is told to unsubscribe (what a server-side end looks like to the client's subscription).
      if (gate.kind === 'amqp') {
        const { session } = a.bus as unknown as { session: { channel: { deleteQueue(q: string): Promise<unknown> }; queue: string } };
        await session.channel.deleteQueue(session.queue);
      } else (a.bus as unknown as { subs: Map<string, { unsubscribe(): void }> }).subs.get(`${ch}.app2`)!.unsubscribe();
      await until(() => a.statuses.some((s) => s.type === 'subscription-lost'), 'the lost subscription reported');
      expect(a.statuses.find((s) => s.type === 'subscription-lost')).toMatchObject({ key: `${ch}.app2` });
      await until(() => a.bus.subscribed, 'subscribed again', RESUME_WITHIN_MS);
      await deliver(b.bus, `${ch}.app2`, a.received, 'after');
    });

    it('retries a broker that is not there at start, says so, and connects once it appears', async () => {
      const port = await freePort();
      const url = (() => {
        const u = new URL(gate.url);
        u.hostname = '127.0.0.1';
        u.port = String(port);
        return u.toString();
      })();
      const ch = randomChannel('late');
      const a = await open(url, `${ch}.app2`);
      await until(() => a.statuses.filter((s) => s.type === 'retrying').length >= 2, 'two retries');
      const retry = a.statuses.find((s) => s.type === 'retrying')!;
      expect(retry).toMatchObject({ attempt: 1 });
      expect(a.bus.connected).toBe(false);
      expect(a.bus.publish(`${ch}.app1`, msg('nobody'))).toBe(false);

      let proxy: TcpProxy | undefined;
      for (let i = 0; i < 20 && !proxy; i++) {
        proxy = await startTcpProxy(gate.url, port).catch(() => undefined);
        if (!proxy) await new Promise((r) => setTimeout(r, 100));
      }
      cleanup.push(() => proxy!.close());
      await until(() => a.bus.connected, 'connect after the broker appeared', RESUME_WITHIN_MS);
      const b = await open(gate.url, `${ch}.app1`);
      await until(() => b.bus.connected, 'b connected');
      await deliver(b.bus, `${ch}.app2`, a.received, 'hello late app');
    });
  });
}
