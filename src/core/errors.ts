/**
 * Every failure netlab reports to a user has a stable code, a message and (for HTTP) a status.
 * The list is the single place they are defined; docs/operations.md documents each code and a test
 * keeps the two in step.
 */
export const ERROR_CODES = {
  NETLAB_ERR_BAD_OPTION: { status: 0, message: 'invalid command-line option or environment variable' },
  NETLAB_ERR_UNKNOWN_ROLE: { status: 0, message: 'unknown role' },
  NETLAB_ERR_UNAVAILABLE: { status: 0, message: 'a port or facility this role needs is unavailable' },
  NETLAB_ERR_BAD_JSON: { status: 400, message: 'request body is not valid JSON' },
  NETLAB_ERR_BAD_REQUEST: { status: 400, message: 'request is invalid' },
  NETLAB_ERR_NOT_FOUND: { status: 404, message: 'no such route' },
  NETLAB_ERR_BODY_TOO_LARGE: { status: 413, message: 'request body is too large' },
  NETLAB_ERR_UNSUPPORTED_MEDIA_TYPE: { status: 415, message: 'request body must be application/json' },
  NETLAB_ERR_DB_UNAVAILABLE: { status: 503, message: 'database unavailable' },
  NETLAB_ERR_SHUTTING_DOWN: { status: 503, message: 'server is shutting down' },
  NETLAB_ERR_INTERNAL: { status: 500, message: 'internal error' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;

/** An error with a stable code; HTTP handlers turn it into `{"error", "code"}` with its status. */
export class NetlabError extends Error {
  override name = 'NetlabError';
  readonly code: ErrorCode;
  readonly status: number;

  constructor(code: ErrorCode, message?: string, options?: { cause?: unknown }) {
    super(message ?? ERROR_CODES[code].message, options);
    this.code = code;
    this.status = ERROR_CODES[code].status;
  }
}

/** A bad flag or env value: the CLI prints the message as one line and exits with EXIT_BAD_USAGE (2). */
export class OptionError extends NetlabError {
  override name = 'OptionError';
  constructor(message: string) {
    super('NETLAB_ERR_BAD_OPTION', message);
  }
}

/**
 * What the role needs is not there (SO_REUSEPORT, say): not bad usage, since the same command works
 * elsewhere. The CLI prints the message as one line and exits with EXIT_UNAVAILABLE (69).
 */
export class UnavailableError extends NetlabError {
  override name = 'UnavailableError';
  constructor(message: string) {
    super('NETLAB_ERR_UNAVAILABLE', message);
  }
}
