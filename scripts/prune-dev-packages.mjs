#!/usr/bin/env node
// Slims a production node_modules for the image:
// - every package that package-lock.json marks dev-only: `dev`, and `devOptional` (dev here, reachable in
//   production only as an optional peer). `npm ci --omit=dev` keeps the latter, because @prisma/client
//   names the Prisma CLI and TypeScript as optional peers; nothing netlab runs loads them (about 250 MB);
// - @prisma/client's query compilers for the databases prisma/schema.prisma does not use (the generated
//   client imports its provider's only), and source maps, which nothing reads at run time.
// Run in the folder holding package-lock.json and prisma/schema.prisma.
//
//   node scripts/prune-dev-packages.mjs [--dry-run]
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';

/** The lockfile paths (`node_modules/...`) of the packages no production install needs. */
export function devOnlyPaths(lock) {
  return Object.entries(lock.packages ?? {})
    .filter(([path, entry]) => path.startsWith('node_modules/') && (entry.dev === true || entry.devOptional === true))
    .map(([path]) => path);
}

/** The datasource provider of a Prisma schema (postgresql, mysql, ...). */
export function schemaProvider(schema) {
  const datasource = /datasource\s+\w+\s*\{([^}]*)\}/.exec(schema);
  const provider = datasource && /provider\s*=\s*"([^"]+)"/.exec(datasource[1]);
  if (!provider) throw new Error('no datasource provider in prisma/schema.prisma');
  return provider[1];
}

/** Files of @prisma/client's runtime that only other databases' clients load. */
export function unusedQueryCompilers(runtimeFiles, provider) {
  return runtimeFiles.filter((f) => {
    const m = /^query_compiler_\w+_bg\.([a-z]+)\./.exec(f);
    return m !== null && m[1] !== provider;
  });
}

function sourceMaps(dir, found = []) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) sourceMaps(path, found);
    else if (entry.name.endsWith('.map')) found.push(path);
  }
  return found;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const dryRun = process.argv.includes('--dry-run');
  const remove = (path) => {
    if (!dryRun) rmSync(path, { recursive: true, force: true });
  };
  const packages = devOnlyPaths(JSON.parse(readFileSync('package-lock.json', 'utf8'))).filter((p) => existsSync(p));
  packages.forEach(remove);
  const runtime = 'node_modules/@prisma/client/runtime';
  const compilers = existsSync(runtime) ? unusedQueryCompilers(readdirSync(runtime), schemaProvider(readFileSync('prisma/schema.prisma', 'utf8'))) : [];
  compilers.forEach((f) => remove(join(runtime, f)));
  const maps = sourceMaps('node_modules');
  maps.forEach(remove);
  console.log(`${dryRun ? 'would remove' : 'removed'} ${packages.length} dev-only packages, ${compilers.length} query compilers of other databases, ${maps.length} source maps`);
}
