/**
 * The small read-only interface the DNS layer answers from (docs/ARCHITECTURE.md, "Habits": a test can fake it).
 * The composition root adapts the registry and the load balancer to it (src/dns/registry-view.ts).
 */

/**
 * One eligible instance as DNS sees it. Never changed once handed out: a change is a new object (DNS memoises
 * per object). Its service is that of the list or change it came in: the registry hands out the instance's
 * own validated spec, one object fewer per instance than a copy that named its service. So a view hands out
 * one object under one service and protocol only: what DNS derives from it (its instance name `I._S._P.D`
 * among them) is memoised per object.
 */
export interface DnsInstance {
  /** Protocol label. */
  readonly protocol: 'tcp' | 'udp';
  /** DNS-SD instance name, UTF-8, 1..63 octets, may contain dots and spaces (escaped in presentation form). */
  readonly id: string;
  /** IPv4/IPv6 literal, or a host name. */
  readonly address: string;
  readonly port: number;
  readonly priority: number;
  readonly weight: number;
  /** SRV target when set; otherwise the DNS layer derives one from the address. */
  readonly host?: string;
  readonly tags: readonly string[];
  readonly metadata: Readonly<Record<string, string>>;
}

/** One instance that entered, left or changed within the eligible set of its service and protocol. */
export interface DnsInstanceChange {
  readonly service: string;
  readonly protocol: 'tcp' | 'udp';
  /** The instance id, ASCII-folded (the form cache tags use). */
  readonly id: string;
  /** The instance as `eligible()` listed it before; absent when it was not eligible. */
  readonly before?: DnsInstance;
  /** The instance as `eligible()` lists it now; absent when it is not eligible any more. */
  readonly after?: DnsInstance;
}

/** An instance name that was registered or deregistered under one protocol (eligible or not). */
export interface DnsRegistration {
  readonly service: string;
  readonly protocol: 'tcp' | 'udp';
  /** The instance id, ASCII-folded (the form cache tags use). */
  readonly id: string;
}

/** What changed, so the DNS cache invalidates only the names it touches. */
export interface DnsChange {
  /** Lower-case service names whose instance set or data changed. */
  readonly services: readonly string[];
  /**
   * When present: every instance of `services` whose eligible entry changed, and nothing else did (an empty
   * list means only registrations of ineligible instances moved). Consumers then update per instance instead
   * of re-reading the services. Absent: re-read `services`.
   */
  readonly instances?: readonly DnsInstanceChange[];
  /**
   * Whether the list `services()` returns may have changed (a service or protocol appeared or went).
   * `false` lets DNS keep its service-enumeration answers; absent means it may have.
   */
  readonly enumeration?: boolean;
  /**
   * When present: every instance name of `services` that appeared or went under a protocol (a registration,
   * a deregistration, a move to the other protocol lists both), eligible or not; an empty list means no name
   * did. DNS then keeps its answers for instance names nobody holds (NXDOMAIN) across the service's other
   * changes. Absent: any may have.
   */
  readonly registrations?: readonly DnsRegistration[];
}

/** Read side of the registry for DNS. All methods are synchronous and cheap. */
export interface DnsView {
  /**
   * The eligible instances (healthy, not in maintenance, circuit not open) of `_service._protocol`. An array
   * handed out is never changed afterwards: a change of the service gives a new one (the DNS layer memoises
   * per array).
   */
  eligible(service: string, protocol: 'tcp' | 'udp'): readonly DnsInstance[];
  /** Every `(service, protocol)` that has at least one registered instance, eligible or not. */
  services(): readonly { readonly service: string; readonly protocol: 'tcp' | 'udp' }[];
  /** Whether `(service, protocol)` has any registered instance (eligible or not): NODATA rather than NXDOMAIN. */
  hasService(service: string, protocol: 'tcp' | 'udp'): boolean;
  /**
   * The eligible instance of that name (`foldedId` ASCII-folded), as `eligible()` lists it: a lookup, so that
   * answering one instance does not index its whole service. Optional; without it DNS searches `eligible()`.
   */
  instance?(service: string, protocol: 'tcp' | 'udp', foldedId: string): DnsInstance | undefined;
  /** Whether an instance with this name (compared case-insensitively) is registered, eligible or not. */
  hasInstance(service: string, protocol: 'tcp' | 'udp', id: string): boolean;
  /** Subscribe to changes; returns an unsubscribe function. */
  onChange(listener: (change: DnsChange) => void): () => void;
}
