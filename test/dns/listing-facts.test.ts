/**
 * Listing facts derived from a service's previous array (listing-facts.ts) must equal the facts built from
 * scratch for the new array, whatever changed between the two: the same wire per instance and the same
 * distinct addresses of each family, first holder first. Random services go through appends, removals
 * (first, last, middle), replacements (same address, new address, other family), insertions, batches of
 * several changes and reorders; after each, derived and fresh facts are compared. The wire lookups a change
 * costs are counted too: that is what derivation saves.
 */
import { describe, expect, it } from 'vitest';
import { type InstanceWire, ListingFacts, ListingFactsMemo } from '../../src/dns/listing-facts.js';
import { RRType } from '../../src/dns/records.js';
import type { DnsInstance } from '../../src/dns/view.js';
import { seededRandom } from '../../src/balancer/strategies.js';
import { FakeView } from './fake-view.js';

/** Wire stand-ins (the facts read only the address and its family), one per instance, and a lookup count. */
function wireSource(noWire: ReadonlySet<string> = new Set()) {
  const memo = new Map<DnsInstance, InstanceWire>();
  const source = {
    lookups: 0,
    wireOf: (inst: DnsInstance): InstanceWire | null => {
      source.lookups++;
      if (noWire.has(inst.id)) return null;
      let w = memo.get(inst);
      if (w === undefined) {
        const addressType = inst.address.includes(':') ? RRType.AAAA : RRType.A;
        w = { address: inst.address, addressType, idKey: inst.id } as unknown as InstanceWire;
        memo.set(inst, w);
      }
      return w;
    },
  };
  return source;
}

let serial = 0;
/** A new instance (a new object, as the view makes one per registration) at one of a few shared addresses. */
function instance(rand: () => number, address?: string): DnsInstance {
  const k = Math.floor(rand() * 12);
  const chosen = address ?? (k % 3 === 0 ? `fd00::${k}` : `10.0.0.${k}`);
  return FakeView.instance({ service: 'web', id: `i${serial++}`, address: chosen, port: 80 });
}

/** One random change to a service's array, as writes between two listing questions could make. */
function change(rand: () => number, list: readonly DnsInstance[]): DnsInstance[] {
  const next = [...list];
  const at = Math.floor(rand() * next.length);
  const kind = Math.floor(rand() * 9);
  if (kind <= 1) {
    for (let n = 1 + Math.floor(rand() * 3); n > 0; n--) next.push(instance(rand)); // registrations
  } else if (kind === 2 && next.length > 3) {
    next.splice(rand() < 0.5 ? 0 : at, 1); // a deregistration, often the oldest
  } else if (kind === 3 && next.length > 3) {
    next.pop();
  } else if (kind === 4) {
    next[at] = instance(rand, next[at]!.address); // a re-registration at the same address
  } else if (kind === 5) {
    next[at] = instance(rand); // moved to another address, maybe another family
  } else if (kind === 6) {
    next.splice(at, 0, instance(rand)); // eligible again, back at its place
  } else if (kind === 7 && next.length > 4) {
    next.splice(at, 2, instance(rand), instance(rand), instance(rand)); // a batch of writes in one place
    next.shift();
    next.push(instance(rand));
  } else {
    next.reverse(); // anything else
  }
  return next;
}

/** What must match: each wire, and each family's distinct addresses (the wire standing for each). */
function summary(facts: ListingFacts | null) {
  if (facts === null) return null;
  return { wires: [...facts.wires], a: [...facts.addresses(RRType.A)], aaaa: [...facts.addresses(RRType.AAAA)] };
}

describe('listing facts derived from the previous array', () => {
  it('equal the facts built from scratch after every kind of change', () => {
    const rand = seededRandom(41);
    for (let round = 0; round < 60; round++) {
      const source = wireSource();
      const memo = new ListingFactsMemo();
      let list: DnsInstance[] = Array.from({ length: 2 + Math.floor(rand() * 20) }, () => instance(rand));
      for (let step = 0; step < 40; step++) {
        const facts = memo.get('web', list, source.wireOf);
        // The address lists are carried over only when they were built: ask for them on most arrays.
        if (rand() < 0.8) facts?.addresses(RRType.A);
        if (rand() < 0.8) facts?.addresses(RRType.AAAA);
        list = change(rand, list);
        const derived = memo.get('web', list, source.wireOf);
        expect(summary(derived)).toEqual(summary(ListingFacts.build(list, wireSource().wireOf)));
        // Identity, not only equal contents: each wire is the one memoised for its instance.
        expect(derived?.wires.every((w, i) => w === source.wireOf(list[i]!))).toBe(true);
      }
    }
  });

  it('equal the facts built from scratch across services, health flaps, old arrays asked again and instances without wire', () => {
    const rand = seededRandom(29);
    const source = wireSource(new Set(['nowire']));
    const memo = new ListingFactsMemo();
    // One name under both protocols and another service, each kept as the registry view keeps it: every
    // registration in registration order with an eligible flag, the array the eligible ones in that order.
    const groups = (['web/tcp', 'web/udp', 'api/tcp'] as const).map((key) => ({ key, slots: [] as { inst: DnsInstance; eligible: boolean }[], arrays: [] as DnsInstance[][] }));
    const make = (key: string, id: string) => {
      const [service, protocol] = key.split('/') as [string, 'tcp' | 'udp'];
      const k = Math.floor(rand() * 8);
      return FakeView.instance({ service, protocol, id, address: k % 3 === 0 ? `fd00::${k}` : `10.0.0.${k}`, port: 80 });
    };
    let compared = 0;
    for (let step = 0; step < 3000; step++) {
      const group = groups[Math.floor(rand() * groups.length)]!;
      const { slots } = group;
      const at = Math.floor(rand() * slots.length);
      const kind = rand();
      if (kind < 0.35 || slots.length < 3) slots.push({ inst: make(group.key, `i${serial++}`), eligible: true });
      else if (kind < 0.5) slots.splice(at, 1);
      else if (kind < 0.7) slots[at]!.eligible = !slots[at]!.eligible; // a health flap: back at its place
      else if (kind < 0.85) slots[at] = { inst: make(group.key, slots[at]!.inst.id), eligible: slots[at]!.eligible };
      else if (kind < 0.88) slots.push({ inst: make(group.key, 'nowire'), eligible: true });
      else slots.splice(0, slots.length, ...slots.filter((slot) => slot.inst.id !== 'nowire'));
      const array = slots.filter((slot) => slot.eligible).map((slot) => slot.inst);
      group.arrays.push(array);
      // Mostly the current array; now and then one handed out before (a question answered from an old read).
      const asked = rand() < 0.9 ? array : group.arrays[Math.floor(rand() * group.arrays.length)]!;
      if (asked.length < 2) continue;
      const facts = memo.get(group.key.split('/')[0]!, asked, source.wireOf);
      if (rand() < 0.7) facts?.addresses(RRType.A);
      if (rand() < 0.7) facts?.addresses(RRType.AAAA);
      expect(summary(facts)).toEqual(summary(ListingFacts.build(asked, wireSource(new Set(['nowire'])).wireOf)));
      compared++;
    }
    expect(compared).toBeGreaterThan(2500);
  });

  it('looks up only the instances a write changed', () => {
    const rand = seededRandom(3);
    const source = wireSource();
    const memo = new ListingFactsMemo();
    // Each instance at an address of its own, as in a deploy (shared addresses are the test above's).
    const own = (i: number) => `10.${i >> 8}.${i & 255}.1`;
    let list = Array.from({ length: 500 }, (_, i) => instance(rand, own(i)));
    let addresses = memo.get('web', list, source.wireOf)!.addresses(RRType.A);
    expect(source.lookups).toBe(500);
    // A registration appends one instance; a deregistration of the oldest takes the first away; a
    // re-registration replaces one in place.
    const steps: ((l: DnsInstance[]) => DnsInstance[])[] = [
      (l) => [...l, instance(rand, own(1000))],
      (l) => l.slice(1),
      (l) => l.map((inst, i) => (i === 250 ? instance(rand, inst.address) : inst)),
    ];
    for (const step of steps) {
      list = step(list);
      source.lookups = 0;
      const facts = memo.get('web', list, source.wireOf)!;
      expect(source.lookups).toBeLessThanOrEqual(1);
      // The address list was carried over (the same array, brought up to date), not built again.
      expect(facts.addresses(RRType.A)).toBe(addresses);
      expect(addresses).toEqual(ListingFacts.build(list, wireSource().wireOf)!.addresses(RRType.A));
      addresses = facts.addresses(RRType.A);
    }
  });

  it('gives an array asked again after its successor its own facts', () => {
    const rand = seededRandom(8);
    const source = wireSource();
    const memo = new ListingFactsMemo();
    const before = Array.from({ length: 6 }, () => instance(rand));
    memo.get('web', before, source.wireOf)!.addresses(RRType.A);
    const after = [...before, instance(rand, '10.9.9.9')];
    expect(memo.get('web', after, source.wireOf)!.wires).toHaveLength(7);
    // The lists moved to the new array's facts; the old array's are built again, unchanged.
    expect(summary(memo.get('web', before, source.wireOf))).toEqual(summary(ListingFacts.build(before, source.wireOf)));
    expect(summary(memo.get('web', after, source.wireOf))).toEqual(summary(ListingFacts.build(after, source.wireOf)));
  });

  it('keeps the facts of the arrays listed lately, not of every array the view still holds', () => {
    const source = wireSource();
    const memo = new ListingFactsMemo();
    // A registry listed once, service by service: 1,000 services of two instances.
    const services = Array.from({ length: 1000 }, (_, s) =>
      [0, 1].map((i) => FakeView.instance({ service: `s${s}`, id: `i${i}`, address: `10.1.${s & 255}.${i + 1}`, port: 80 })));
    const first = services.map((list, s) => memo.get(`s${s}`, list, source.wireOf));
    // The latest arrays' facts are still held; the first ones were let go (facts made anew when asked).
    expect(memo.get('s999', services[999]!, source.wireOf)).toBe(first[999]);
    expect(memo.get('s0', services[0]!, source.wireOf)).not.toBe(first[0]);
    expect(summary(memo.get('s0', services[0]!, source.wireOf))).toEqual(summary(ListingFacts.build(services[0]!, source.wireOf)));
    // Facts let go but not collected (this synchronous test holds them through the memo's WeakRef) still
    // derive the next array of their service: one lookup for one registration.
    const grown = [...services[1]!, FakeView.instance({ service: 's1', id: 'i2', address: '10.1.1.3', port: 80 })];
    source.lookups = 0;
    expect(summary(memo.get('s1', grown, source.wireOf))).toEqual(summary(ListingFacts.build(grown, wireSource().wireOf)));
    expect(source.lookups).toBe(1);
  });

  it('is null when an instance has no wire, and leaves the previous facts as they were', () => {
    const rand = seededRandom(12);
    const source = wireSource(new Set(['hosted']));
    const memo = new ListingFactsMemo();
    const before = Array.from({ length: 4 }, () => instance(rand));
    const facts = memo.get('web', before, source.wireOf)!;
    const addresses = [...facts.addresses(RRType.A)];
    const hosted = FakeView.instance({ service: 'web', id: 'hosted', address: '10.1.1.1', port: 80, host: 'h.example.' });
    expect(memo.get('web', [...before, hosted], source.wireOf)).toBeNull();
    expect(facts.wires).toHaveLength(4);
    expect(facts.addresses(RRType.A)).toEqual(addresses);
    // The next array still derives from the facts left in place.
    const next = [...before, instance(rand)];
    source.lookups = 0;
    expect(summary(memo.get('web', next, source.wireOf))).toEqual(summary(ListingFacts.build(next, wireSource().wireOf)));
    expect(source.lookups).toBe(1);
  });
});
