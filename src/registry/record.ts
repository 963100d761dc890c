import type { InstanceSpec, RegistryConfig } from './types.js';

/** Whether an instance's liveness comes from heartbeats (no active HTTP/TCP check). */
export function isTtlBased(spec: InstanceSpec): boolean {
  return spec.check === undefined || spec.check.type === 'ttl';
}

/** The heartbeat TTL (ms) that applies to an instance: its own, its TTL check's, or the registry default. */
export function ttlOf(spec: InstanceSpec, config: RegistryConfig): number {
  if (spec.ttlMs !== undefined) return spec.ttlMs;
  if (spec.check?.type === 'ttl' && spec.check.ttlMs !== undefined) return spec.check.ttlMs;
  return config.defaultTtlMs;
}

/**
 * ASCII-only case folding: DNS compares names case-insensitively for ASCII letters only (RFC 4343 §3),
 * so two instance names that fold to the same string would collide in DNS.
 */
export function foldCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => c.toLowerCase());
}
