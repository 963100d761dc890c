/**
 * Finding instances by Consul ID. Consul's service IDs are agent-global while Beacon's instance ids are per
 * service, so an agent route finds an instance by id across services (docs/api.md, 'Consul compatibility').
 */
import { BeaconError, InvalidArgumentError, NameConflictError } from '../../errors.js';
import type { InstanceRecord } from '../../registry/types.js';
import type { ConsulDeps } from './context.js';

type Records = Pick<ConsulDeps['registry'], 'records'>;

/** Every instance with this Consul ID (its Beacon id, in any service). */
export function holdersOf(registry: Records, id: string): InstanceRecord[] {
  return registry.records().filter((record) => record.spec.id === id);
}

/** The one instance with this Consul ID: 404 when none, 409 when Beacon's own API put it in several services. */
export function byId(registry: Records, id: string): InstanceRecord {
  const holders = holdersOf(registry, id);
  if (holders.length === 0) throw new BeaconError('INSTANCE_NOT_FOUND', `unknown service ID ${JSON.stringify(id)}`, { status: 404 });
  if (holders.length > 1) {
    throw new NameConflictError(`service ID ${JSON.stringify(id)} is registered in several services (${holders.map((r) => r.service).join(', ')}); address it through /v1/services/:service/instances/:id`);
  }
  return holders[0] as InstanceRecord;
}

/** The instance behind a `service:<id>` check id; only TTL checks (or none) take pass, warn and fail. */
export function byCheckId(registry: Records, checkId: string): InstanceRecord {
  const id = checkId.startsWith('service:') ? checkId.slice('service:'.length) : undefined;
  if (id === undefined || holdersOf(registry, id).length === 0) throw new BeaconError('INSTANCE_NOT_FOUND', `unknown check ID ${JSON.stringify(checkId)}`, { status: 404 });
  const record = byId(registry, id);
  if (record.spec.check?.type === 'http' || record.spec.check?.type === 'tcp') {
    throw new InvalidArgumentError(`check ID ${JSON.stringify(checkId)} is an ${record.spec.check.type.toUpperCase()} check, which Beacon probes itself; only TTL checks take pass, warn and fail`, 'checkId');
  }
  return record;
}
