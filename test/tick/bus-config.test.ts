import { describe, expect, it } from 'vitest';
import { amqpConnectUrl } from '../../src/tick/amqp-bus.js';
import { brokerAddress, brokerStartHint } from '../../src/tick/broker-probe.js';
import { backoffMs, busKindOf, RECONNECT_MAX_MS, redactUrl } from '../../src/tick/bus.js';
import { natsConnectionOptions } from '../../src/tick/nats-bus.js';
import { resolveBusUrl } from '../../src/tick/run-tick.js';

describe('bus configuration', () => {
  it('picks the transport by URL scheme', () => {
    expect(busKindOf('nats://h:4222')).toBe('nats');
    expect(busKindOf('amqp://u:p@h')).toBe('amqp');
    expect(busKindOf('amqps://h')).toBe('amqp');
    expect(() => busKindOf('http://h')).toThrow(/no bus for http:/);
  });

  it('--bus wins, then NATS_URL, then AMQP_URL, then the local NATS', () => {
    expect(resolveBusUrl('amqp://x', { NATS_URL: 'nats://y' })).toBe('amqp://x');
    expect(resolveBusUrl(undefined, { NATS_URL: 'nats://y', AMQP_URL: 'amqp://z' })).toBe('nats://y');
    expect(resolveBusUrl(undefined, { NATS_URL: '', AMQP_URL: 'amqp://z' })).toBe('amqp://z');
    expect(resolveBusUrl(undefined, {})).toBe('nats://127.0.0.1:4222');
  });

  it('never logs a password', () => {
    expect(redactUrl('amqp://guest:secret@127.0.0.1:5672')).toBe('amqp://guest:***@127.0.0.1:5672');
    expect(redactUrl('nats://127.0.0.1:4222')).toBe('nats://127.0.0.1:4222');
  });

  it('passes NATS credentials as options, not in the server address', () => {
    expect(natsConnectionOptions('nats://me:pw@h:4333')).toEqual({ servers: 'h:4333', user: 'me', pass: 'pw' });
    expect(natsConnectionOptions('nats://tok@h')).toEqual({ servers: 'h:4222', token: 'tok' });
  });

  it('sets an AMQP heartbeat unless the URL has one', () => {
    expect(new URL(amqpConnectUrl('amqp://g:g@h:5672')).searchParams.get('heartbeat')).toBe('5');
    expect(new URL(amqpConnectUrl('amqp://g:g@h:5672?heartbeat=30')).searchParams.get('heartbeat')).toBe('30');
  });

  it('backs off exponentially up to a cap', () => {
    expect([1, 2, 3, 4, 5, 6, 20].map(backoffMs)).toEqual([100, 200, 400, 800, 1600, RECONNECT_MAX_MS, RECONNECT_MAX_MS]);
  });

  it('knows default ports and how to start each broker', () => {
    expect(brokerAddress('nats://h')).toEqual({ host: 'h', port: 4222 });
    expect(brokerAddress('amqp://u:p@h')).toEqual({ host: 'h', port: 5672 });
    expect(brokerAddress('amqps://h')).toEqual({ host: 'h', port: 5671 });
    expect(brokerStartHint('nats://127.0.0.1:4222')).toMatch(/docker run .*nats.*NATS_URL/);
    expect(brokerStartHint('amqp://g:g@127.0.0.1:5672')).toMatch(/docker run .*rabbitmq.*AMQP_URL/);
  });
});
