import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/** Debian's `chromium`, or CHROMIUM; undefined when there is none (tests skip, unless NETLAB_REQUIRE_CHROMIUM=1). */
export function findChromium(): string | undefined {
  for (const bin of [process.env.CHROMIUM, 'chromium', 'chromium-browser', 'google-chrome'].filter(Boolean) as string[]) {
    if (spawnSync(bin, ['--version'], { stdio: 'ignore' }).status === 0) return bin;
  }
  return undefined;
}

export const REQUIRE_CHROMIUM = process.env.NETLAB_REQUIRE_CHROMIUM === '1';
/** How long a page may take to load and be inspected. */
const PAGE_TIMEOUT_MS = 60_000;

export interface PageFacts {
  images: { src: string; naturalWidth: number; complete: boolean }[];
  links: string[];
  /** `data-points` of every chart figure. */
  chartPoints: number[];
  text: string;
}

/**
 * Opens `file` in headless Chromium over the DevTools protocol (a pipe, no port), waits for the load
 * event and reports what a reader's browser shows: every image and whether it decoded, every link.
 */
export async function inspectPage(chromium: string, file: string): Promise<PageFacts> {
  const profile = mkdtempSync(join(tmpdir(), 'netlab-chromium-'));
  const proc = spawn(
    chromium,
    ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', `--user-data-dir=${profile}`, '--remote-debugging-pipe', 'about:blank'],
    { stdio: ['ignore', 'ignore', 'pipe', 'pipe', 'pipe'] },
  );
  const toBrowser = proc.stdio[3] as NodeJS.WritableStream;
  const fromBrowser = proc.stdio[4] as NodeJS.ReadableStream;
  let buffer = '';
  let nextId = 1;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const eventWaiters: { method: string; resolve: () => void }[] = [];
  fromBrowser.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    let end: number;
    while ((end = buffer.indexOf('\0')) >= 0) {
      const msg = JSON.parse(buffer.slice(0, end)) as { id?: number; result?: unknown; error?: { message: string }; method?: string };
      buffer = buffer.slice(end + 1);
      if (msg.id !== undefined) {
        const p = pending.get(msg.id);
        pending.delete(msg.id);
        if (msg.error) p?.reject(new Error(msg.error.message));
        else p?.resolve(msg.result);
      } else if (msg.method) {
        for (const w of eventWaiters.filter((x) => x.method === msg.method)) {
          eventWaiters.splice(eventWaiters.indexOf(w), 1);
          w.resolve();
        }
      }
    }
  });
  /** One DevTools protocol call; `T` is the shape of its result, as the protocol documents it. */
  const send = <T = unknown>(method: string, params: object = {}, sessionId?: string): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve: (v) => resolve(v as T), reject });
      toBrowser.write(JSON.stringify({ id, method, params, ...(sessionId ? { sessionId } : {}) }) + '\0');
    });
  const timer = setTimeout(() => proc.kill('SIGKILL'), PAGE_TIMEOUT_MS);
  try {
    const { targetId } = await send<{ targetId: string }>('Target.createTarget', { url: 'about:blank' });
    const { sessionId } = await send<{ sessionId: string }>('Target.attachToTarget', { targetId, flatten: true });
    await send('Page.enable', {}, sessionId);
    const loaded = new Promise<void>((resolve) => eventWaiters.push({ method: 'Page.loadEventFired', resolve }));
    await send('Page.navigate', { url: pathToFileURL(file).href }, sessionId);
    await loaded;
    const { result } = await send<{ result: { value: unknown } }>(
      'Runtime.evaluate',
      {
        returnByValue: true,
        expression: `({
          images: [...document.images].map((i) => ({ src: i.getAttribute('src'), naturalWidth: i.naturalWidth, complete: i.complete })),
          links: [...document.querySelectorAll('a[href]')].map((a) => a.getAttribute('href')),
          chartPoints: [...document.querySelectorAll('figure[data-points]')].map((f) => Number(f.dataset.points)),
          text: document.body.innerText,
        })`,
      },
      sessionId,
    );
    await send('Browser.close').catch(() => {});
    return result.value as PageFacts;
  } finally {
    clearTimeout(timer);
    proc.kill('SIGKILL');
    rmSync(profile, { recursive: true, force: true });
  }
}
