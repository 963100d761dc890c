/**
 * JSON schemas of every control API body, params object and querystring. Fastify validates each request
 * against these before a handler runs (type coercion is off: `"port": "80"` is an error, not 80), and the
 * registry then validates what a schema cannot express (label octets, TXT sizes, address syntax).
 */
import { HEALTH_STATUSES, SELECTION_STRATEGIES } from '../registry/types.js';

const duration = { type: 'integer', minimum: 1, maximum: 604_800_000 } as const;

/** `{service}` path parameter. */
export const serviceParams = {
  type: 'object',
  required: ['service'],
  additionalProperties: false,
  properties: { service: { type: 'string', minLength: 1, maxLength: 63 } },
} as const;

/** `{service, id}` path parameters (the id's 63-octet limit is checked by the registry, in octets). */
export const instanceParams = {
  type: 'object',
  required: ['service', 'id'],
  additionalProperties: false,
  properties: {
    service: { type: 'string', minLength: 1, maxLength: 63 },
    id: { type: 'string', minLength: 1, maxLength: 255 },
  },
} as const;

/** An active check definition (HTTP, TCP) or a TTL check. */
export const checkSchema = {
  type: 'object',
  required: ['type'],
  additionalProperties: false,
  properties: {
    type: { type: 'string', enum: ['http', 'tcp', 'ttl'] },
    url: { type: 'string', minLength: 1, maxLength: 2048 },
    host: { type: 'string', minLength: 1, maxLength: 253 },
    port: { type: 'integer', minimum: 1, maximum: 65535 },
    intervalMs: duration,
    timeoutMs: duration,
    ttlMs: duration,
  },
} as const;

/** Body of `PUT /v1/services/:service/instances/:id` (register or replace). */
export const registerBody = {
  type: 'object',
  required: ['address', 'port'],
  additionalProperties: false,
  properties: {
    address: { type: 'string', minLength: 1, maxLength: 253 },
    port: { type: 'integer', minimum: 1, maximum: 65535 },
    tags: { type: 'array', maxItems: 32, items: { type: 'string', minLength: 1, maxLength: 63 } },
    metadata: { type: 'object', maxProperties: 64, additionalProperties: { type: 'string', maxLength: 255 } },
    weight: { type: 'integer', minimum: 0, maximum: 65535 },
    priority: { type: 'integer', minimum: 0, maximum: 65535 },
    protocol: { type: 'string', enum: ['tcp', 'udp'] },
    host: { type: 'string', minLength: 1, maxLength: 253 },
    ttlMs: duration,
    health: { type: 'string', enum: [...HEALTH_STATUSES] },
    check: checkSchema,
  },
} as const;

/** Body of a heartbeat. */
export const heartbeatBody = {
  type: ['object', 'null'],
  additionalProperties: false,
  properties: {
    status: { type: 'string', enum: ['pass', 'fail'] },
    note: { type: 'string', maxLength: 1024 },
  },
} as const;

/** Body of a health update. */
export const healthBody = {
  type: 'object',
  required: ['health'],
  additionalProperties: false,
  properties: {
    health: { type: 'string', enum: [...HEALTH_STATUSES] },
    note: { type: 'string', maxLength: 1024 },
  },
} as const;

/** Body of a maintenance change. */
export const maintenanceBody = {
  type: 'object',
  required: ['enabled'],
  additionalProperties: false,
  properties: {
    enabled: { type: 'boolean' },
    reason: { type: 'string', maxLength: 1024 },
  },
} as const;

/** Body of a call-outcome report (circuit breaker). */
export const reportBody = {
  type: 'object',
  required: ['outcome'],
  additionalProperties: false,
  properties: { outcome: { type: 'string', enum: ['success', 'failure'] } },
} as const;

const tagQuery = { anyOf: [{ type: 'string', minLength: 1, maxLength: 63 }, { type: 'array', maxItems: 32, items: { type: 'string', minLength: 1, maxLength: 63 } }] } as const;
const boolQuery = { type: 'string', enum: ['true', 'false', '1', '0', ''] } as const;

/** Query of `GET /v1/services/:service/instances`. */
export const instancesQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { tag: tagQuery, healthy: boolQuery },
} as const;

/** Query of `GET /v1/services/:service/resolve`. */
export const resolveQuery = {
  type: 'object',
  additionalProperties: false,
  properties: { tag: tagQuery, healthy: boolQuery, strategy: { type: 'string', enum: [...SELECTION_STRATEGIES] } },
} as const;

/** Query of `GET /v1/watch` (long-poll) and `GET /v1/events` (SSE). */
export const watchQuery = {
  type: 'object',
  additionalProperties: false,
  properties: {
    index: { type: 'string', pattern: '^[0-9]{1,15}$' },
    wait: { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)?(ms|s|m)?$' },
  },
} as const;

/**
 * Body of `PUT /v1/snapshot`: a snapshot document. Only its outline here; src/control/zone-snapshot.ts validates
 * the format marker, version, every record and zone RRset, with messages that name the bad record.
 */
export const snapshotBody = {
  type: 'object',
  required: ['format', 'version', 'records'],
  // Unknown fields (say a `file`) are a mistake worth reporting, not something to ignore.
  additionalProperties: false,
  properties: { format: { type: 'string' }, version: { type: 'integer' }, index: { type: 'integer' }, records: { type: 'array' }, zone: { type: 'array' } },
} as const;

/** Query of the endpoints that take no parameters: anything given is a mistake worth reporting. */
export const emptyQuery = { type: 'object', additionalProperties: false, properties: {} } as const;

/** `{owner, type}` path parameters of `DELETE /v1/zone/:owner/:type` (a name is at most 1004 escaped characters). */
export const zoneRRsetParams = {
  type: 'object',
  required: ['owner', 'type'],
  additionalProperties: false,
  properties: {
    owner: { type: 'string', minLength: 1, maxLength: 1024 },
    type: { type: 'string', minLength: 1, maxLength: 16 },
  },
} as const;
