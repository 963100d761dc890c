/** The API's JSON form of an instance, shared by the routes, the client and the CLI's tables. */
import type { CircuitState } from '../balancer/circuit-breaker.js';
import { InstanceNotFoundError, ServiceNotFoundError } from '../errors.js';
import type { InstanceRecord, InstanceSpec } from '../registry/types.js';
import type { RegistryReader } from './ports.js';

/** An instance as the API returns it: its spec flattened, with its service, health, maintenance and circuit. */
export type InstanceView = InstanceSpec & Omit<InstanceRecord, 'spec'> & { readonly circuit: CircuitState };

/** The API's JSON form of a record. */
export function instanceView(record: InstanceRecord, circuit: CircuitState): InstanceView {
  const { spec, ...state } = record;
  return { ...spec, ...state, circuit };
}

/**
 * The record of `service`/`id` (service names are case-insensitive), or the precise 404: an unknown
 * service is SERVICE_NOT_FOUND, a known service without that instance is INSTANCE_NOT_FOUND.
 */
export function requireRecord(registry: Pick<RegistryReader, 'get' | 'records'>, service: string, id: string): InstanceRecord {
  const name = service.toLowerCase();
  const record = registry.get(name, id);
  if (!record) {
    if (registry.records(name).length === 0) throw new ServiceNotFoundError(name);
    throw new InstanceNotFoundError(name, id);
  }
  return record;
}
