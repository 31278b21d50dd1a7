/** Exit code of a dispatcher whose `--data` directory is held by another process (sysexits EX_TEMPFAIL: retry once it is gone). */
export const EXIT_STORE_LOCKED = 75;
/** Exit code of a dispatcher or `dead-letters` that found the store damaged (sysexits EX_DATAERR). */
export const EXIT_STORE_DAMAGED = 65;

/** Another process holds the directory's lock; the message names it. */
export class StoreLockedError extends Error {
  override name = 'StoreLockedError';
  readonly exitCode = EXIT_STORE_LOCKED;
}

/** The store's files are not what the dispatcher wrote; the message names the file and the way out. */
export class StoreDamagedError extends Error {
  override name = 'StoreDamagedError';
  readonly exitCode = EXIT_STORE_DAMAGED;
}

export const isStoreError = (err: unknown): err is StoreLockedError | StoreDamagedError => err instanceof StoreLockedError || err instanceof StoreDamagedError;
