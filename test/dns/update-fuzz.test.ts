/**
 * Seeded fuzzing of the UPDATE responder (docs/ARCHITECTURE.md, 'Habits' 9): mutated and truncated UPDATE
 * messages, signed and not, are answered (FORMERR, NOTAUTH, REFUSED, ...) or dropped; the responder never
 * rejects, and nothing reaches the registry unless the reply says NOERROR.
 */
import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/balancer/strategies.js';
import type { WritePort } from '../../src/control/ports.js';
import { parseName } from '../../src/dns/name.js';
import { UpdateResponder } from '../../src/dns/update/responder.js';
import { parseTsigKey } from '../../src/dns/update/tsig.js';
import { FakeView } from './fake-view.js';
import { T, add, deleteRRset, leaseOpt, pre, rdata, sign, updateMessage } from './update-messages.js';

const KEY = { name: 'fuzz-key', algorithm: 'hmac-sha256' as const, secret: Buffer.from('fuzzing secret 0123456789') };

describe('UPDATE responder under malformed input', () => {
  it('answers or drops 3,000 mutated messages and never rejects; writes only on NOERROR', async () => {
    const writes: string[] = [];
    const writer: WritePort = {
      register: (service, instance) => {
        writes.push(`register ${service} ${String(instance.id)}`);
        return Promise.resolve(undefined);
      },
      deregister: (service, id) => {
        writes.push(`deregister ${service} ${id}`);
        return Promise.resolve(undefined);
      },
      heartbeat: () => Promise.resolve(undefined),
      updateHealth: () => Promise.resolve(undefined),
      setMaintenance: () => Promise.resolve(undefined),
    };
    const outcomes = new Map<string, number>();
    const lookup = { lookup: () => ({ exists: false, records: [] }) };
    const responder = new UpdateResponder(lookup, {
      domain: parseName('local.'),
      writer,
      view: new FakeView(),
      keys: [parseTsigKey(`${KEY.name}:${KEY.algorithm}:${KEY.secret.toString('base64')}`)],
      allowFrom: ['127.0.0.1/32'],
      onOutcome: (outcome) => outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1),
    });
    const base = [
      updateMessage({ updates: [add('a._x._tcp.local.', T.SRV, rdata.srv(0, 1, 80, '10-0-0-1.addr.local.')), add('a._x._tcp.local.', T.TXT, rdata.txt('k=v'))], additional: [leaseOpt(60)] }),
      updateMessage({ prereq: [pre.nxdomain('a._x._tcp.local.'), pre.value('_x._tcp.local.', T.PTR, rdata.ptr('a._x._tcp.local.'))], updates: [deleteRRset('a._x._tcp.local.', T.ANY)] }),
    ];
    const random = seededRandom(20261130);
    const pick = (n: number): number => Math.floor(random() * n);
    for (let i = 0; i < 3000; i++) {
      const source = base[i % base.length] ?? Buffer.alloc(0);
      const signed = i % 3 === 0 ? sign(source, KEY, Math.floor(Date.now() / 1000)).signed : source;
      const msg = Buffer.from(signed);
      const flips = 1 + pick(4);
      for (let f = 0; f < flips; f++) msg[12 + pick(msg.length - 12)] = pick(256);
      const cut = i % 5 === 0 ? msg.subarray(0, pick(msg.length + 1)) : msg;
      const before = writes.length;
      const reply = await responder.respond(cut, i % 2 === 0 ? '127.0.0.1' : '192.0.2.1');
      if (reply !== undefined) {
        expect(reply.length).toBeGreaterThanOrEqual(12);
        expect(reply[2]! & 0x80).toBe(0x80); // QR set
        if ((reply[3]! & 0xf) !== 0) expect(writes.length).toBe(before);
      } else {
        expect(cut.length).toBeLessThan(12);
      }
    }
    // The writer never fails, so a SERVFAIL would be a bug in the parser (an exception it did not expect).
    expect(outcomes.get('servfail')).toBeUndefined();
    expect(outcomes.get('formerr')).toBeGreaterThan(0);
  });
});
