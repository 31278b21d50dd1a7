import { z } from 'zod';
import { parseDuration, type DurationUnit } from './duration.js';
import { OptionError } from './errors.js';

/**
 * A flag of a role. Every flag has an environment twin (UPPER_SNAKE of its name unless `env` says
 * otherwise); the flag wins over the env. The zod `schema` turns the raw text into the value and
 * owns the default, so defaults and validation sit in one declaration per option.
 */
export interface OptionSpec<T = unknown> {
  describe: string;
  schema: z.ZodType<T, unknown>;
  /** value: `--x v`; switch: `--x` / `--no-x`; repeat: `--x a --x b` (env: comma-separated). */
  kind?: 'value' | 'switch' | 'repeat';
  env?: string | false;
  /** What to show as the default in --help. */
  shownDefault?: string;
  placeholder?: string;
}

export type OptionSpecs = Record<string, OptionSpec<unknown>>;
export type OptionValues<S extends OptionSpecs> = {
  readonly [K in keyof S]: S[K] extends OptionSpec<infer T> ? T : never;
};

export interface ParsedArgs<S extends OptionSpecs> {
  values: OptionValues<S>;
  positionals: string[];
  help: boolean;
}

export const flagName = (key: string): string => key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
export const envName = (key: string, spec: OptionSpec): string | undefined =>
  spec.env === false ? undefined : (spec.env ?? flagName(key).replace(/-/g, '_').toUpperCase());

type Raw = string | string[] | boolean | undefined;

/** Parses argv and env against the specs; reports every bad option together, one line each. */
export function parseOptions<S extends OptionSpecs>(
  specs: S,
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  allowPositionals = false,
): ParsedArgs<S> {
  const byFlag = new Map(Object.keys(specs).map((key) => [flagName(key), key]));
  const raw: Record<string, Raw> = {};
  const positionals: string[] = [];
  const problems: string[] = [];
  let help = false;

  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--help' || arg === '-h') {
      help = true;
      continue;
    }
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith('--')) {
      if (allowPositionals) positionals.push(arg);
      else problems.push(`unexpected argument "${arg}"`);
      continue;
    }
    const eq = arg.indexOf('=');
    let name = eq === -1 ? arg.slice(2) : arg.slice(2, eq);
    let inline: string | undefined = eq === -1 ? undefined : arg.slice(eq + 1);
    let negated = false;
    if (!byFlag.has(name) && name.startsWith('no-') && specs[byFlag.get(name.slice(3)) ?? '']?.kind === 'switch') {
      name = name.slice(3);
      negated = true;
    }
    const key = byFlag.get(name);
    if (key === undefined) {
      problems.push(`unknown flag --${name}`);
      continue;
    }
    const spec = specs[key]!;
    if (spec.kind === 'switch') {
      raw[key] = inline === undefined ? !negated : inline;
      continue;
    }
    if (inline === undefined) {
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('--') && next.length > 2)) {
        problems.push(`--${name} needs a value`);
        continue;
      }
      inline = next;
      i++;
    }
    if (spec.kind === 'repeat') raw[key] = [...((raw[key] as string[] | undefined) ?? []), inline];
    else raw[key] = inline;
  }

  const values: Record<string, unknown> = {};
  for (const [key, spec] of Object.entries(specs)) {
    const envKey = envName(key, spec);
    let value = raw[key];
    let source = `--${flagName(key)}`;
    if (value === undefined && envKey && env[envKey] !== undefined && env[envKey] !== '') {
      const text = env[envKey]!;
      value = spec.kind === 'repeat' ? text.split(',').map((s) => s.trim()).filter(Boolean) : text;
      source = envKey;
    }
    if (spec.kind === 'switch' && typeof value === 'string') value = parseSwitch(value);
    const result = spec.schema.safeParse(value);
    if (result.success) values[key] = result.data;
    else {
      const shown = Array.isArray(value) ? value.join(',') : String(value);
      const got = value === undefined ? '' : `, got "${shown}"`;
      problems.push(`${source}: ${result.error.issues[0]?.message ?? 'invalid value'}${got}`);
    }
  }
  if (problems.length > 0 && !help) throw new OptionError(problems.join('\n'));
  return { values: Object.freeze(values) as OptionValues<S>, positionals, help };
}

function parseSwitch(text: string): boolean | string {
  if (/^(1|true|yes|on)$/i.test(text)) return true;
  if (/^(0|false|no|off)$/i.test(text)) return false;
  return text;
}

/** Helpers that build the common option schemas with their defaults. */
/** A URL flag with one of `protocols`: optional without a default, always set with one. */
function urlOption(describe: string, protocols: readonly string[]): OptionSpec<string | undefined>;
function urlOption(describe: string, protocols: readonly string[], def: string): OptionSpec<string>;
function urlOption(describe: string, protocols: readonly string[], def?: string): OptionSpec<string | undefined> {
  const schema = urlText(protocols);
  return def === undefined
    ? { describe, placeholder: 'url', schema: schema.optional() }
    : { describe, placeholder: 'url', shownDefault: def, schema: schema.default(def) };
}

export const opt = {
  int(describe: string, def: number, min = 0, max = Number.MAX_SAFE_INTEGER): OptionSpec<number> {
    return { describe, shownDefault: String(def), placeholder: 'n', schema: intText(min, max).default(def) };
  },
  optionalInt(describe: string, min = 0, max = Number.MAX_SAFE_INTEGER): OptionSpec<number | undefined> {
    return { describe, placeholder: 'n', schema: intText(min, max).optional() };
  },
  number(describe: string, def: number, min = -Infinity, max = Infinity): OptionSpec<number> {
    const schema = z
      .string({ error: 'expected a number' })
      .trim()
      .regex(/^-?\d+(\.\d+)?$/, 'expected a number')
      .transform(Number)
      .pipe(z.number().min(min, `must be at least ${min}`).max(max, `must be at most ${max}`));
    return { describe, shownDefault: String(def), placeholder: 'x', schema: schema.default(def) };
  },
  port(describe: string, def: number): OptionSpec<number> {
    return { ...opt.int(describe, def, 0, 65535), placeholder: 'port' };
  },
  string(describe: string, def: string): OptionSpec<string> {
    return { describe, shownDefault: def === '' ? undefined : def, placeholder: 'text', schema: z.string().default(def) };
  },
  optionalString(describe: string, placeholder = 'text'): OptionSpec<string | undefined> {
    return { describe, placeholder, schema: z.string().min(1, 'must not be empty').optional() };
  },
  url: urlOption,
  urls(describe: string, protocols: readonly string[], def: readonly string[]): OptionSpec<string[]> {
    return {
      describe,
      kind: 'repeat',
      placeholder: 'url',
      shownDefault: def.join(', '),
      schema: z.array(urlText(protocols)).min(1, 'give at least one URL').default([...def]),
    };
  },
  duration(describe: string, def: string, bareUnit: DurationUnit, minMs = 0): OptionSpec<number> {
    const schema = z
      .string()
      .transform((text, ctx) => {
        const ms = parseDuration(text, bareUnit);
        if (ms === undefined || ms < minMs) {
          ctx.addIssue({ code: 'custom', message: `expected a duration like 500ms, 10s or 5m${minMs ? ` (at least ${minMs} ms)` : ''}` });
          return z.NEVER;
        }
        return ms;
      })
      .prefault(def);
    return { describe, shownDefault: def, placeholder: 'duration', schema };
  },
  choice<const T extends readonly [string, ...string[]]>(describe: string, choices: T, def: T[number]): OptionSpec<T[number]> {
    return {
      describe: `${describe} (${choices.join('|')})`,
      shownDefault: def,
      placeholder: choices.join('|'),
      schema: z.enum(choices, { error: `expected one of ${choices.join(', ')}` }).default(def),
    };
  },
  list<const T extends readonly [string, ...string[]]>(describe: string, choices: T, def: readonly T[number][]): OptionSpec<T[number][]> {
    const schema = z
      .string()
      .transform((s) => s.split(',').map((x) => x.trim()).filter(Boolean))
      .pipe(z.array(z.enum(choices, { error: `expected a comma-separated list of ${choices.join(', ')}` })).min(1, 'must not be empty'))
      .default([...def]);
    return { describe, shownDefault: def.join(','), placeholder: 'a,b', schema };
  },
  intList(describe: string, def: readonly number[], min = 0, max = Number.MAX_SAFE_INTEGER): OptionSpec<number[]> {
    const schema = z
      .string()
      .transform((s) => s.split(',').map((x) => x.trim()))
      .pipe(z.array(intText(min, max)).min(1, 'must not be empty'))
      .default([...def]);
    return { describe, shownDefault: def.join(','), placeholder: 'n,n', schema };
  },
  switch(describe: string): OptionSpec<boolean> {
    return { describe, kind: 'switch', schema: z.boolean({ error: 'expected true or false' }).default(false) };
  },
};

function intText(min: number, max: number) {
  const range = max === Number.MAX_SAFE_INTEGER ? `at least ${min}` : `from ${min} to ${max}`;
  const message = `expected a whole number ${range}`;
  return z
    .string({ error: message })
    .trim()
    .regex(/^-?\d+$/, message)
    .transform(Number)
    .pipe(z.number().int().min(min, message).max(max, message));
}

function urlText(protocols: readonly string[]) {
  const message = `expected a URL starting with ${protocols.map((p) => `${p}//`).join(' or ')}`;
  return z.string({ error: message }).refine((text) => {
    try {
      return protocols.includes(new URL(text).protocol);
    } catch {
      return false;
    }
  }, message);
}

/** The --help text of a role, generated from its specs so it can never drift from the parser. */
export function renderHelp(name: string, summary: string, specs: OptionSpecs, usage?: string): string {
  const rows = Object.entries(specs).map(([key, spec]) => {
    const flag = spec.kind === 'switch' ? `--${flagName(key)}` : `--${flagName(key)} <${spec.placeholder ?? 'value'}>`;
    const env = envName(key, spec) ?? '';
    const def = spec.shownDefault !== undefined ? ` (default ${spec.shownDefault})` : '';
    const repeat = spec.kind === 'repeat' ? ' (repeatable)' : '';
    return [flag, env, `${spec.describe}${repeat}${def}`] as const;
  });
  const w0 = Math.max(...rows.map((r) => r[0].length), 6);
  const w1 = Math.max(...rows.map((r) => r[1].length), 3);
  const lines = rows.map(([a, b, c]) => `  ${a.padEnd(w0)}  ${b.padEnd(w1)}  ${c}`);
  return [
    `netlab ${name}: ${summary}`,
    '',
    `Usage: ${usage ?? `netlab ${name} [flags]`}`,
    '',
    'Flags (each also read from the environment variable beside it; the flag wins):',
    ...lines,
    `  ${'--help'.padEnd(w0)}  ${''.padEnd(w1)}  show this help`,
    '',
  ].join('\n');
}
