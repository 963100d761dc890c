// The benchmark's data set: a deterministic registry of N services x M instances, the dnsperf query file
// that reads it, and the equivalent RFC 1035 zone file so that NSD serves the same names and records.
// Both the bench driver and the Beacon child rebuild the same data from (services, instances, seed),
// so 100,000 instances never cross a pipe.

/** The project's seeded PRNG (mulberry32): the same seed gives the same data set and query file. */
import { seededRandom } from '../../dist/balancer/strategies.js';

export { seededRandom };

/** Service name for index i (RFC 6335 style: letters, digits, hyphens, <= 15 chars). */
export function serviceName(i) {
  return `svc-${String(i).padStart(5, '0')}`;
}

/** IPv4 address of the k-th instance overall: 10.x.y.z, unique up to 16M instances. */
function addressFor(k) {
  return `10.${(k >> 16) & 255}.${(k >> 8) & 255}.${(k & 255) || 1}`;
}

/**
 * Build the data set: `{ domain, services: [{ name, protocol, instances: [{ id, address, port, priority,
 * weight, tags, metadata }] }] }`. Instance ids are unique within a service.
 */
export function buildDataset({ services, instances, domain = 'local.' }) {
  const list = [];
  let k = 1;
  for (let s = 0; s < services; s += 1) {
    const name = serviceName(s);
    const insts = [];
    for (let i = 0; i < instances; i += 1) {
      insts.push({
        id: `node-${String(i).padStart(2, '0')}`,
        address: addressFor(k),
        port: 8000 + (k % 1000),
        priority: 0,
        weight: 1 + (i % 3),
        tags: i === 0 ? ['primary', 'v1'] : ['v1'],
        metadata: { version: `1.${s % 10}.${i}`, zone: `zone-${i % 3}` },
      });
      k += 1;
    }
    list.push({ name, protocol: 'tcp', instances: insts });
  }
  return { domain, services: list };
}

/** Lower-case fully qualified service name `_S._tcp.D`. */
export function serviceFqdn(service, domain) {
  return `_${service.name}._${service.protocol}.${domain}`;
}

/** Fully qualified instance name `I._S._tcp.D` (our ids need no escaping). */
export function instanceFqdn(service, instance, domain) {
  return `${instance.id}.${serviceFqdn(service, domain)}`;
}

/**
 * SRV target of an instance that has no `host`: the name Beacon derives from its address. Kept in one
 * place so that the zone file given to NSD matches what Beacon answers (checked by the answer cross-check).
 */
export function targetFqdn(instance, domain, deriveTarget) {
  return deriveTarget(instance.address, domain);
}

/** Default derivation (overridden by the bench driver once it knows Beacon's rule). */
export function defaultDeriveTarget(address, domain) {
  return `${address.replaceAll('.', '-')}.addr.${domain}`;
}

/**
 * The mixed query file: SRV (service and instance), TXT, A (service name and SRV targets), PTR (instance
 * enumeration and tag subtypes) and about 5% names that do not exist. Returns `{ text, lines, mix }`.
 */
export function buildQueryFile(dataset, { lines, seed = 1, deriveTarget = defaultDeriveTarget }) {
  const rand = seededRandom(seed);
  const { domain, services } = dataset;
  const pick = (arr) => arr[Math.floor(rand() * arr.length)];
  // Weights of each query kind; they sum to 100. Every kind reads a name that exists in both servers.
  const kinds = [
    ['service SRV', 20], ['instance SRV', 15], ['instance TXT', 15], ['service A', 10],
    ['service PTR', 15], ['subtype PTR', 5], ['target A', 15], ['NXDOMAIN', 5],
  ];
  const mix = Object.fromEntries(kinds.map(([k]) => [k, 0]));
  const out = [];
  for (let n = 0; n < lines; n += 1) {
    let r = rand() * 100;
    let kind = kinds[kinds.length - 1][0];
    for (const [k, w] of kinds) {
      if (r < w) { kind = k; break; }
      r -= w;
    }
    mix[kind] += 1;
    const svc = pick(services);
    const inst = pick(svc.instances);
    switch (kind) {
      case 'service SRV': out.push(`${serviceFqdn(svc, domain)} SRV`); break;
      case 'instance SRV': out.push(`${instanceFqdn(svc, inst, domain)} SRV`); break;
      case 'instance TXT': out.push(`${instanceFqdn(svc, inst, domain)} TXT`); break;
      case 'service A': out.push(`${serviceFqdn(svc, domain)} A`); break;
      case 'service PTR': out.push(`${serviceFqdn(svc, domain)} PTR`); break;
      case 'subtype PTR': out.push(`_primary._sub.${serviceFqdn(svc, domain)} PTR`); break;
      case 'target A': out.push(`${targetFqdn(inst, domain, deriveTarget)} A`); break;
      default:
        // Half unknown services, half unknown instances of known services: both NXDOMAIN.
        out.push(rand() < 0.5 ? `_nosuch-${n}._tcp.${domain} SRV` : `ghost-${n}.${serviceFqdn(svc, domain)} TXT`);
    }
  }
  return { text: `${out.join('\n')}\n`, lines: out.length, mix };
}

/** TXT RDATA in zone-file presentation: `"key=value"` strings, sorted by key like a stable encoder would. */
function txtStrings(metadata) {
  const keys = Object.keys(metadata).sort();
  if (keys.length === 0) return '""';
  return keys.map((k) => `"${`${k}=${metadata[k]}`.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"`).join(' ');
}

/**
 * The zone file NSD serves: the same names and records as Beacon's namespace (docs/ARCHITECTURE.md) for this data set,
 * every instance eligible. NSD does no DNS-SD additional-section processing, so its PTR answers are smaller.
 */
export function buildZoneFile(dataset, { ttl = 5, negativeTtl = 5, deriveTarget = defaultDeriveTarget } = {}) {
  const { domain, services } = dataset;
  const lines = [
    `$ORIGIN ${domain}`,
    `$TTL ${ttl}`,
    `@ IN SOA ns.${domain} hostmaster.${domain} 1 3600 600 86400 ${negativeTtl}`,
    `@ IN NS ns.${domain}`,
    `ns IN A 127.0.0.1`,
    `b._dns-sd._udp IN PTR ${domain}`,
    `lb._dns-sd._udp IN PTR ${domain}`,
  ];
  for (const svc of services) lines.push(`_services._dns-sd._udp IN PTR ${serviceFqdn(svc, domain)}`);
  for (const svc of services) {
    const sname = serviceFqdn(svc, domain);
    for (const inst of svc.instances) {
      const iname = instanceFqdn(svc, inst, domain);
      const target = targetFqdn(inst, domain, deriveTarget);
      lines.push(`${sname} IN PTR ${iname}`);
      lines.push(`${sname} IN SRV ${inst.priority} ${inst.weight} ${inst.port} ${target}`);
      lines.push(`${sname} IN A ${inst.address}`);
      lines.push(`${iname} IN SRV ${inst.priority} ${inst.weight} ${inst.port} ${target}`);
      lines.push(`${iname} IN TXT ${txtStrings(inst.metadata)}`);
      lines.push(`${target} IN A ${inst.address}`);
      for (const tag of inst.tags) lines.push(`_${tag}._sub.${sname} IN PTR ${iname}`);
    }
  }
  return `${lines.join('\n')}\n`;
}
