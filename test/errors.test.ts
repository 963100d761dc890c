// Pins every public error: its class name, its stable code and the HTTP status the control API answers
// with. Scripts and the CLI match on codes, so a rename must fail here first.
import { describe, expect, it } from 'vitest';
import { ConnectionError } from '../src/control/client.js';
import {
  BeaconError,
  ERROR_CODES,
  ForbiddenError,
  InstanceNotFoundError,
  InvalidArgumentError,
  InvalidConfigurationError,
  NameConflictError,
  ServiceNotFoundError,
  StoreCorruptError,
  StoreUnavailableError,
  UnauthorizedError,
  hasErrorCode,
  isBeaconError,
} from '../src/index.js';

const table: [error: BeaconError, name: string, code: string, status: number][] = [
  [new ServiceNotFoundError('api'), 'ServiceNotFoundError', 'SERVICE_NOT_FOUND', 404],
  [new InstanceNotFoundError('api', 'a'), 'InstanceNotFoundError', 'INSTANCE_NOT_FOUND', 404],
  [new InvalidConfigurationError('bad ttl', 'defaultTtlMs'), 'InvalidConfigurationError', 'INVALID_CONFIGURATION', 400],
  [new InvalidArgumentError('bad port', 'port'), 'InvalidArgumentError', 'INVALID_ARGUMENT', 400],
  [new NameConflictError('a vs A'), 'NameConflictError', 'NAME_CONFLICT', 409],
  [new StoreUnavailableError('disk full'), 'StoreUnavailableError', 'STORE_UNAVAILABLE', 503],
  [new StoreCorruptError('bad row'), 'StoreCorruptError', 'STORE_CORRUPT', 500],
  [new UnauthorizedError(), 'UnauthorizedError', 'UNAUTHORIZED', 401],
  [new ForbiddenError('read-only'), 'ForbiddenError', 'FORBIDDEN', 403],
  [new ConnectionError('no daemon'), 'ConnectionError', 'INTERNAL', 503],
];

describe('public errors', () => {
  it.each(table)('%s: name, code and HTTP status', (error, name, code, status) => {
    expect(error.name).toBe(name);
    expect(error.code).toBe(code);
    expect(error.status).toBe(status);
    expect(error).toBeInstanceOf(Error);
    expect(isBeaconError(error)).toBe(true);
    expect(hasErrorCode(error, code as BeaconError['code'])).toBe(true);
    expect(error.toJSON()).toEqual({ code, message: error.message });
  });

  it('has exactly these stable codes', () => {
    expect([...ERROR_CODES]).toEqual([
      'SERVICE_NOT_FOUND',
      'INSTANCE_NOT_FOUND',
      'INVALID_CONFIGURATION',
      'INVALID_ARGUMENT',
      'NAME_CONFLICT',
      'STORE_UNAVAILABLE',
      'STORE_CORRUPT',
      'UNAUTHORIZED',
      'FORBIDDEN',
      'NOT_FOUND',
      'PAYLOAD_TOO_LARGE',
      'UNSUPPORTED_MEDIA_TYPE',
      'INTERNAL',
    ]);
  });

  it('uses only stable codes in its classes', () => {
    for (const [error] of table) expect(ERROR_CODES).toContain(error.code);
  });

  it('names the instance and service in not-found messages, and keeps their fields', () => {
    const error = new InstanceNotFoundError('api', 'a');
    expect(error.message).toBe('instance not found: a in service api');
    expect([error.service, error.instanceId]).toEqual(['api', 'a']);
    expect(new InvalidArgumentError('bad port', 'port').field).toBe('port');
  });
});
