/**
 * JSON schemas of the Consul-compatible routes. Consul ignores query parameters it does not use (`stale`,
 * `consistent`, `cached`, `ns`...), so these querystrings accept unknown parameters and check the known ones;
 * bodies are decoded case-insensitively like Consul's (definition.ts), so their schema documents the
 * PascalCase fields and checks only that the body is an object.
 */

const text = { type: 'string', maxLength: 1024 } as const;

/** Parameters every route tolerates: the datacenter (Beacon has one) and the token (see token.ts). */
const common = { dc: text, token: text } as const;

/** `{id}` path parameter (a Consul service ID: Beacon's instance id). */
export const idParams = {
  type: 'object',
  required: ['id'],
  additionalProperties: false,
  properties: { id: { type: 'string', minLength: 1, maxLength: 255 } },
} as const;

/** `{checkId}` path parameter (`service:<id>`). */
export const checkParams = {
  type: 'object',
  required: ['checkId'],
  additionalProperties: false,
  properties: { checkId: { type: 'string', minLength: 1, maxLength: 300 } },
} as const;

/** `{service}` path parameter. */
export const serviceParams = {
  type: 'object',
  required: ['service'],
  additionalProperties: false,
  properties: { service: { type: 'string', minLength: 1, maxLength: 255 } },
} as const;

const tagQuery = { anyOf: [{ type: 'string', minLength: 1, maxLength: 63 }, { type: 'array', maxItems: 32, items: { type: 'string', minLength: 1, maxLength: 63 } }] } as const;

/** Query of the reads: blocking-query parameters, tag and passing filters. */
export const readQuery = {
  type: 'object',
  additionalProperties: true,
  properties: {
    ...common,
    index: { type: 'string', pattern: '^[0-9]{1,15}$' },
    wait: { type: 'string', maxLength: 32 },
    tag: tagQuery,
    passing: { type: 'string', maxLength: 8 },
    filter: text,
  },
} as const;

/** Query of the writes. */
export const writeQuery = { type: 'object', additionalProperties: true, properties: { ...common } } as const;

/** Query of a maintenance change. */
export const maintenanceQuery = { type: 'object', additionalProperties: true, properties: { ...common, enable: { type: 'string', maxLength: 8 }, reason: text } } as const;

/** Query of check pass/warn/fail. */
export const noteQuery = { type: 'object', additionalProperties: true, properties: { ...common, note: text } } as const;

const duration = { type: 'string', description: 'Go duration, e.g. "10s", "1m30s"' } as const;

/** A Consul check definition (one of TTL, HTTP, TCP). */
const checkDefinition = {
  type: 'object',
  additionalProperties: true,
  properties: {
    CheckID: text,
    Name: text,
    TTL: duration,
    HTTP: { type: 'string' },
    TCP: { type: 'string', description: 'host:port' },
    Interval: duration,
    Timeout: duration,
    DeregisterCriticalServiceAfter: duration,
    Status: { type: 'string', enum: ['passing', 'warning', 'critical'] },
  },
} as const;

/** Body of `PUT /v1/agent/service/register` (Consul's service definition). */
export const registerBody = {
  type: 'object',
  additionalProperties: true,
  properties: {
    ID: text,
    Name: text,
    Tags: { type: 'array', items: { type: 'string' } },
    Address: text,
    Port: { type: 'integer' },
    Meta: { type: 'object', additionalProperties: { type: 'string' } },
    Weights: { type: 'object', properties: { Passing: { type: 'integer' }, Warning: { type: 'integer' } } },
    EnableTagOverride: { type: 'boolean', description: 'accepted and ignored' },
    Check: checkDefinition,
    Checks: { type: 'array', items: checkDefinition, maxItems: 1 },
  },
} as const;

/** Body of `PUT /v1/agent/check/update/:checkId`. */
export const checkUpdateBody = {
  type: 'object',
  required: ['Status'],
  additionalProperties: true,
  properties: { Status: { type: 'string', enum: ['passing', 'warning', 'critical'] }, Output: { type: 'string', maxLength: 4096 } },
} as const;
