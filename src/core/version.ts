import { readFileSync } from 'node:fs';

/** netlab's version, from the package.json beside dist/ (and src/): read once, 'unknown' if it is not there. */
export const NETLAB_VERSION: string = (() => {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string }).version ?? 'unknown';
  } catch {
    return 'unknown';
  }
})();
