/**
 * One error hierarchy for all of Beacon. Every error carries a stable machine-readable `code`
 * (part of the public contract: the control API returns it, the CLI prints it) and an HTTP status
 * used by the control API. Modules return or throw these; only the edges log them.
 */

/** Stable error codes. Never rename one: scripts match on them (test/errors.test.ts pins them). */
export const ERROR_CODES = [
  'SERVICE_NOT_FOUND',
  'INSTANCE_NOT_FOUND',
  /** The service exists but no instance passes the filters (health, maintenance, tags, circuit). */
  'NO_ELIGIBLE_INSTANCE',
  'INVALID_CONFIGURATION',
  'INVALID_ARGUMENT',
  'NAME_CONFLICT',
  'STORE_UNAVAILABLE',
  'STORE_CORRUPT',
  'UNAUTHORIZED',
  /** The credential is valid but does not allow this request (read-only token, cross-site write). */
  'FORBIDDEN',
  /** The control API has no such endpoint. */
  'NOT_FOUND',
  'PAYLOAD_TOO_LARGE',
  'UNSUPPORTED_MEDIA_TYPE',
  /** The request's header section is larger than node's HTTP parser accepts (status 431). */
  'HEADERS_TOO_LARGE',
  /** The client did not send a whole request in time (status 408). */
  'REQUEST_TIMEOUT',
  /** The daemon is stopping and takes no new requests (status 503). */
  'SHUTTING_DOWN',
  /** A client found no daemon at the socket or URL (nothing answered there). */
  'DAEMON_UNREACHABLE',
  'INTERNAL',
] as const;

/** One of the stable error codes. */
export type ErrorCode = (typeof ERROR_CODES)[number];

/** Base class: a message for humans, a `code` for programs, an optional `cause`. */
export class BeaconError extends Error {
  /** The stable code. */
  readonly code: ErrorCode;
  /** HTTP status the control API answers with. */
  readonly status: number;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown; status?: number }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.status = options?.status ?? 500;
  }

  /** Plain JSON shape used on the wire: `{code, message}`. */
  toJSON(): { code: ErrorCode; message: string } {
    return { code: this.code, message: this.message };
  }
}

/** The named service has no instances (seed: `ServiceNotFound`). */
export class ServiceNotFoundError extends BeaconError {
  constructor(readonly service: string) {
    super('SERVICE_NOT_FOUND', `service not found: ${service}`, { status: 404 });
  }
}

/** The service has instances, but none is eligible: unhealthy, in maintenance, circuit open or filtered out. */
export class NoEligibleInstanceError extends BeaconError {
  constructor(readonly service: string) {
    // 404 like SERVICE_NOT_FOUND, so clients that only look at the status keep working; the code tells them apart.
    super('NO_ELIGIBLE_INSTANCE', `no eligible instance of service ${service}`, { status: 404 });
  }
}

/** The named instance is not registered in that service (seed: `InstanceNotFound`). */
export class InstanceNotFoundError extends BeaconError {
  constructor(readonly service: string, readonly instanceId: string) {
    super('INSTANCE_NOT_FOUND', `instance not found: ${instanceId} in service ${service}`, { status: 404 });
  }
}

/** A configuration value is out of range, e.g. a zero TTL (seed: `InvalidConfiguration`, mutant A). */
export class InvalidConfigurationError extends BeaconError {
  constructor(message: string, readonly field?: string) {
    super('INVALID_CONFIGURATION', message, { status: 400 });
  }
}

/** A request argument (name, port, metadata, ...) is invalid; `field` names it. */
export class InvalidArgumentError extends BeaconError {
  constructor(message: string, readonly field?: string) {
    super('INVALID_ARGUMENT', message, { status: 400 });
  }
}

/** Two instance names differ only in letter case, which DNS cannot tell apart. */
export class NameConflictError extends BeaconError {
  constructor(message: string) {
    super('NAME_CONFLICT', message, { status: 409 });
  }
}

/** The durable store cannot take writes now (etcd down, disk full...). Writes fail fast with this. */
export class StoreUnavailableError extends BeaconError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('STORE_UNAVAILABLE', message, { status: 503, ...options });
  }
}

/** The durable store's data cannot be read; Beacon refuses to start with an empty registry instead. */
export class StoreCorruptError extends BeaconError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('STORE_CORRUPT', message, { status: 500, ...options });
  }
}

/** Missing or wrong bearer token on the TCP control listener. */
export class UnauthorizedError extends BeaconError {
  constructor(message = 'missing or invalid bearer token') {
    super('UNAUTHORIZED', message, { status: 401 });
  }
}

/** A valid credential that does not allow the request: a write with the read-only token, or a cross-site write. */
export class ForbiddenError extends BeaconError {
  constructor(message: string) {
    super('FORBIDDEN', message, { status: 403 });
  }
}

/** Type guard: is this one of ours? */
export function isBeaconError(value: unknown): value is BeaconError {
  return value instanceof BeaconError;
}

/** Type guard for a specific code. */
export function hasErrorCode(value: unknown, code: ErrorCode): value is BeaconError {
  return isBeaconError(value) && value.code === code;
}
