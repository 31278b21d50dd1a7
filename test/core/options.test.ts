import { describe, expect, it } from 'vitest';
import { OptionError } from '../../src/core/errors.js';
import { opt, parseOptions, renderHelp } from '../../src/core/options.js';

const specs = {
  port: opt.port('port', 8080),
  databaseUrl: opt.url('db', ['postgres:']),
  grace: opt.duration('grace', '10s', 's'),
  url: opt.urls('replica', ['http:'], ['http://127.0.0.1:8080']),
  verify: opt.switch('verify'),
  models: opt.list('models', ['loop', 'cluster', 'threads'], ['loop']),
};

describe('parseOptions', () => {
  it('applies defaults', () => {
    const { values } = parseOptions(specs, [], {});
    expect(values).toEqual({ port: 8080, databaseUrl: undefined, grace: 10_000, url: ['http://127.0.0.1:8080'], verify: false, models: ['loop'] });
  });

  it('reads flags in both forms, repeats and switches', () => {
    const { values } = parseOptions(specs, ['--port=9', '--grace', '250ms', '--url', 'http://a:1', '--url', 'http://b:2', '--verify', '--models', 'loop,threads'], {});
    expect(values.port).toBe(9);
    expect(values.grace).toBe(250);
    expect(values.url).toEqual(['http://a:1', 'http://b:2']);
    expect(values.verify).toBe(true);
    expect(values.models).toEqual(['loop', 'threads']);
  });

  it('falls back to the env twin, and the flag wins over it', () => {
    const env = { PORT: '7000', DATABASE_URL: 'postgres://x/y', URL: 'http://a:1,http://b:2', VERIFY: 'true' };
    expect(parseOptions(specs, [], env).values).toMatchObject({ port: 7000, databaseUrl: 'postgres://x/y', url: ['http://a:1', 'http://b:2'], verify: true });
    expect(parseOptions(specs, ['--port', '1'], env).values.port).toBe(1);
  });

  it('reports every bad option together, one line each, naming the option', () => {
    const run = () => parseOptions(specs, ['--port', '70000', '--bogus', '--models', 'loop,fork'], { DATABASE_URL: 'mysql://x' });
    expect(run).toThrow(OptionError);
    try {
      run();
    } catch (err) {
      const lines = (err as Error).message.split('\n');
      expect(lines).toHaveLength(4);
      expect(lines).toContain('unknown flag --bogus');
      expect(lines.find((l) => l.startsWith('--port:'))).toMatch(/0 to 65535, got "70000"/);
      expect(lines.find((l) => l.startsWith('DATABASE_URL:'))).toMatch(/postgres:/);
      expect(lines.find((l) => l.startsWith('--models:'))).toMatch(/loop, cluster, threads/);
    }
  });

  it('rejects a value-less flag and stray arguments', () => {
    expect(() => parseOptions(specs, ['--port'], {})).toThrow('--port needs a value');
    expect(() => parseOptions(specs, ['extra'], {})).toThrow('unexpected argument "extra"');
    expect(parseOptions(specs, ['extra'], {}, true).positionals).toEqual(['extra']);
  });

  it('renders help with every flag and its env twin', () => {
    const help = renderHelp('messenger', 'chat', specs);
    for (const [flag, env] of [['--port <port>', 'PORT'], ['--database-url <url>', 'DATABASE_URL'], ['--verify', 'VERIFY']] as const) {
      expect(help).toMatch(new RegExp(`${flag.replace(/[<>]/g, '.')}\\s+${env}`));
    }
    expect(help).toContain('(default 8080)');
  });
});
