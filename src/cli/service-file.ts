/**
 * `beacon register --file web.json`: a service-definition file in Beacon's JSON (`{"service": "web", "id":
 * "web-1", "address": ..., "port": ..., ...}`, the fields of `PUT /v1/services/:service/instances/:id`) or in
 * Consul's shape (`{"service": {"name": "web", "port": 80, "check": {"ttl": "10s"}}}`, or the service object
 * itself), converted the way the Consul-compatible API converts it (docs/api.md, 'Register a service').
 */
import { readFile } from 'node:fs/promises';
import type { RegisterBody } from '../control/client.js';
import { fromConsulService, unwrapServiceDefinition } from '../control/consul/definition.js';
import { InvalidArgumentError } from '../errors.js';
import { registerBody, type InstanceFlags } from './register-body.js';

/** A registration read from a file. */
export interface ServiceFileRegistration {
  readonly service: string;
  readonly id: string;
  readonly body: RegisterBody;
}

/** Interpret parsed JSON as a registration (Beacon's shape when `service` is a string, Consul's otherwise). */
export function registrationFromJson(value: unknown): ServiceFileRegistration {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new InvalidArgumentError('a service file holds one JSON object', 'file');
  const object = value as Record<string, unknown>;
  if (typeof object.service === 'string') {
    const { service, id, ...body } = object;
    if (typeof id !== 'string') throw new InvalidArgumentError('a Beacon service file names the instance in "id"', 'id');
    // The daemon validates the body like any registration (unknown fields are refused there).
    return { service, id, body: body as unknown as RegisterBody };
  }
  const { service, instance } = fromConsulService(unwrapServiceDefinition(object));
  const { id, ...body } = instance;
  return { service, id, body: body as unknown as RegisterBody };
}

/** Read and interpret a service file. */
export async function readServiceFile(file: string): Promise<ServiceFileRegistration> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new InvalidArgumentError(`cannot read ${file}: ${(error as Error).message}`, 'file');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new InvalidArgumentError(`${file} is not JSON: ${(error as Error).message}`, 'file');
  }
  return registrationFromJson(parsed);
}

/** What `beacon register` registers: the file's instance with `--file` (and no other instance flag), else the arguments and flags. */
export async function registrationOf(service: string | undefined, id: string | undefined, flags: InstanceFlags & { file?: string }): Promise<ServiceFileRegistration> {
  if (flags.file !== undefined) {
    if (service !== undefined || id !== undefined || flags.port !== undefined) throw new InvalidArgumentError('--file names the service, the instance and its port: give no <service>, <id> or --port with it', 'file');
    return readServiceFile(flags.file);
  }
  // The arguments are optional for commander (a --file may name both), so their absence is reported here,
  // in commander's words.
  if (service === undefined) throw new InvalidArgumentError("missing required argument 'service' (register <service> <id>, or --file)", 'service');
  if (id === undefined) throw new InvalidArgumentError("missing required argument 'id' (register <service> <id>, or --file)", 'id');
  return { service, id, body: registerBody(flags) };
}
