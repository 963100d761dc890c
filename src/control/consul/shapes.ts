/**
 * Beacon's instance records in Consul's JSON shapes (AgentService, CatalogService, HealthCheck, ServiceEntry),
 * with Consul's field names. Beacon is one agent on one node in one datacenter: every instance lives on that
 * node, and its health is one check, `service:<id>`, plus a maintenance check while it is in maintenance.
 */
import { createHash } from 'node:crypto';
import type { InstanceRecord } from '../../registry/types.js';

/** Consul check status. */
export type ConsulStatus = 'passing' | 'warning' | 'critical';

/** The node Beacon presents itself as. */
export interface ConsulNode {
  readonly datacenter: string;
  readonly name: string;
  readonly id: string;
  readonly address: string;
}

/** The node of this host: a stable UUID-shaped id derived from the node name. */
export function localNode(name: string, datacenter = 'dc1', address = '127.0.0.1'): ConsulNode {
  const hex = createHash('sha256').update(`beacon-node:${name}`).digest('hex');
  const id = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
  return { datacenter, name, id, address };
}

/**
 * Consul status of an instance's check. Beacon `healthy` is passing (critical once its TTL has lapsed, before
 * the reaper writes that down), `unknown` is warning, `unhealthy` is critical (docs/api.md, 'Health states').
 */
export function statusOf(record: InstanceRecord, servableIgnoringMaintenance: boolean): ConsulStatus {
  if (record.health === 'unhealthy') return 'critical';
  if (record.health === 'unknown') return 'warning';
  return servableIgnoringMaintenance ? 'passing' : 'critical';
}

/** The check id of an instance's service check, as Consul names the first check of a service. */
export const serviceCheckId = (id: string): string => `service:${id}`;
/** The check id Consul gives a service's maintenance mode. */
export const maintenanceCheckId = (id: string): string => `_service_maintenance:${id}`;

/** Consul's `Weights`: Beacon's weight is the passing weight; the warning weight is 1 (warning instances are out of DNS). */
function weightsOf(record: InstanceRecord): { Passing: number; Warning: number } {
  return { Passing: record.spec.weight, Warning: 1 };
}

/** An AgentService (`/v1/agent/services`, `/v1/agent/service/:id`). */
export function agentService(record: InstanceRecord, node: ConsulNode): Record<string, unknown> {
  const { spec } = record;
  return {
    ID: spec.id,
    Service: record.service,
    Tags: [...spec.tags],
    Meta: { ...spec.metadata },
    Port: spec.port,
    Address: spec.address,
    Weights: weightsOf(record),
    EnableTagOverride: false,
    Datacenter: node.datacenter,
  };
}

/** A CatalogService (`/v1/catalog/service/:name`). Beacon keeps no per-entry index: both indexes are the current one. */
export function catalogService(record: InstanceRecord, node: ConsulNode, index: number): Record<string, unknown> {
  const { spec } = record;
  return {
    ID: node.id,
    Node: node.name,
    Address: node.address,
    Datacenter: node.datacenter,
    TaggedAddresses: { lan: node.address, wan: node.address },
    NodeMeta: {},
    ServiceKind: '',
    ServiceID: spec.id,
    ServiceName: record.service,
    ServiceTags: [...spec.tags],
    ServiceAddress: spec.address,
    ServiceWeights: weightsOf(record),
    ServiceMeta: { ...spec.metadata },
    ServicePort: spec.port,
    ServiceEnableTagOverride: false,
    CreateIndex: index,
    ModifyIndex: index,
  };
}

/** The checks of one instance: its service check, and the maintenance check while in maintenance. */
export function checksOf(record: InstanceRecord, status: ConsulStatus, node: ConsulNode, index: number): Record<string, unknown>[] {
  const { spec } = record;
  const common = { Node: node.name, ServiceID: spec.id, ServiceName: record.service, ServiceTags: [...spec.tags], CreateIndex: index, ModifyIndex: index };
  const checks: Record<string, unknown>[] = [
    {
      ...common,
      CheckID: serviceCheckId(spec.id),
      Name: `Service '${record.service}' check`,
      Status: status,
      Notes: '',
      Output: record.note ?? '',
      Type: spec.check?.type ?? 'ttl',
    },
  ];
  if (record.maintenance) {
    checks.push({
      ...common,
      CheckID: maintenanceCheckId(spec.id),
      Name: 'Service Maintenance Mode',
      Status: 'critical',
      Notes: record.maintenanceReason ?? 'Maintenance mode is enabled for this service, but no reason was provided. This is a default message.',
      Output: '',
      Type: 'maintenance',
    });
  }
  return checks;
}

/** The node's own check, which Consul includes in every health entry. */
export function nodeCheck(node: ConsulNode, index: number): Record<string, unknown> {
  return {
    Node: node.name,
    CheckID: 'serfHealth',
    Name: 'Serf Health Status',
    Status: 'passing',
    Notes: '',
    Output: 'Agent alive and reachable',
    ServiceID: '',
    ServiceName: '',
    ServiceTags: [],
    Type: '',
    CreateIndex: index,
    ModifyIndex: index,
  };
}

/** A ServiceEntry (`/v1/health/service/:name`): node, service and all checks. */
export function serviceEntry(record: InstanceRecord, status: ConsulStatus, node: ConsulNode, index: number): Record<string, unknown> {
  return {
    Node: {
      ID: node.id,
      Node: node.name,
      Address: node.address,
      Datacenter: node.datacenter,
      TaggedAddresses: { lan: node.address, wan: node.address },
      Meta: {},
      CreateIndex: index,
      ModifyIndex: index,
    },
    Service: { ...agentService(record, node), CreateIndex: index, ModifyIndex: index },
    Checks: [nodeCheck(node, index), ...checksOf(record, status, node, index)],
  };
}
