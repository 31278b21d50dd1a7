import { EXIT_STORE_DAMAGED, EXIT_STORE_LOCKED } from '../core/exit-codes.js';

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
