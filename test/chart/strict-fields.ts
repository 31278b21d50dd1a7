/**
 * Finds fields that Kubernetes does not know. kubernetes-models' validators accept unknown keys (the
 * OpenAPI schemas allow them), so a misspelt `readinesProbe` would pass `.validate()` and be dropped or
 * rejected by the API server. The field names come from the same package's type declarations.
 */
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, resolve } from 'node:path';

const require = createRequire(import.meta.url);
const MODELS_ROOT = dirname(require.resolve('kubernetes-models/package.json'));
const APIMACHINERY_ROOT = dirname(require.resolve('@kubernetes-models/apimachinery/package.json'));

/** The field types of one declared interface: another interface (by file), a list of one, or a leaf. */
type FieldType = { kind: 'object'; file: string } | { kind: 'array'; file: string } | { kind: 'leaf' };
const cache = new Map<string, Map<string, FieldType>>();

function resolveImport(fromFile: string, spec: string): string {
  if (spec.startsWith('@kubernetes-models/apimachinery/')) return resolve(APIMACHINERY_ROOT, `${spec.slice('@kubernetes-models/apimachinery/'.length)}.d.ts`);
  return resolve(dirname(fromFile), `${spec}.d.ts`);
}

/** Parses `export interface IX { "field"?: Type; ... }` of a .d.ts file (comments removed). */
function fieldsOf(file: string): Map<string, FieldType> {
  const known = cache.get(file);
  if (known) return known;
  const text = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '');
  const imports = new Map<string, string>();
  for (const m of text.matchAll(/import \{ (\w+) \} from "([^"]+)"/g)) imports.set(m[1]!, resolveImport(file, m[2]!));
  const start = text.search(/export interface \w+(?: extends [\w, ]+)? \{/);
  if (start < 0) throw new Error(`no interface in ${file}`);
  const fields = new Map<string, FieldType>();
  let i = text.indexOf('{', start) + 1;
  const field = /\s*"([^"]+)"\??: /y;
  for (;;) {
    field.lastIndex = i;
    const m = field.exec(text);
    if (!m) break;
    let depth = 0;
    let j = field.lastIndex;
    for (; j < text.length; j++) {
      const c = text[j];
      if (c === '{' || c === '<' || c === '(') depth++;
      else if (c === '}' || c === '>' || c === ')') depth--;
      else if (c === ';' && depth === 0) break;
    }
    const type = text.slice(field.lastIndex, j).trim();
    i = j + 1;
    const array = /^Array<(\w+)>$/.exec(type);
    const file = imports.get(array ? array[1]! : type);
    // Aliases such as IntOrString and Quantity are declared as `type`, not `interface`: leaves.
    const isInterface = file !== undefined && existsSync(file) && /export interface \w+(?: extends [\w, ]+)? \{/.test(readFileSync(file, 'utf8'));
    fields.set(m[1]!, isInterface ? { kind: array ? 'array' : 'object', file } : { kind: 'leaf' });
  }
  cache.set(file, fields);
  return fields;
}

/** The declaration file of a kind, e.g. apps/v1 Deployment → kubernetes-models/apps/v1/Deployment.d.ts. */
export function declarationFile(apiVersion: string, kind: string): string | undefined {
  const file = resolve(MODELS_ROOT, apiVersion.includes('/') ? apiVersion : `v1`, `${kind}.d.ts`);
  return apiVersion === 'v1' || apiVersion.includes('/') ? (existsSync(file) ? file : undefined) : undefined;
}

/** Paths of every key of `value` that the type declared in `file` does not have. */
export function unknownFields(value: unknown, file: string, path = ''): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [];
  const fields = fieldsOf(file);
  const found: string[] = [];
  for (const [key, child] of Object.entries(value as Record<string, unknown>)) {
    const type = fields.get(key);
    if (!type) {
      found.push(`${path}.${key}`);
      continue;
    }
    if (type.kind === 'object') found.push(...unknownFields(child, type.file, `${path}.${key}`));
    if (type.kind === 'array' && Array.isArray(child)) child.forEach((item, n) => found.push(...unknownFields(item, type.file, `${path}.${key}[${n}]`)));
  }
  return found;
}
