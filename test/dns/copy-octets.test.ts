import { describe, expect, it } from 'vitest';
import { copyOctets } from '../../src/dns/copy-octets.js';
import { seededRandom } from '../../src/balancer/strategies.js';

const viewOf = (b: Buffer): DataView => new DataView(b.buffer, b.byteOffset, b.length);

describe('copyOctets', () => {
  it('copies every length and offset octet for octet, and nothing outside the range', () => {
    const rnd = seededRandom(3);
    const from = Buffer.alloc(4096);
    const to = Buffer.alloc(4096);
    for (let round = 0; round < 2000; round++) {
      for (let i = 0; i < from.length; i++) from[i] = Math.floor(rnd() * 256);
      const length = Math.floor(rnd() * 700);
      const fromOffset = Math.floor(rnd() * (from.length - length));
      const toOffset = Math.floor(rnd() * (to.length - length));
      to.fill(0xa5);
      copyOctets(viewOf(from), fromOffset, viewOf(to), toOffset, length);
      expect(to.subarray(toOffset, toOffset + length)).toEqual(from.subarray(fromOffset, fromOffset + length));
      expect(to.subarray(0, toOffset).every((o) => o === 0xa5)).toBe(true);
      expect(to.subarray(toOffset + length).every((o) => o === 0xa5)).toBe(true);
    }
  });

  it('keeps words that read as NaN exactly (signalling and quiet, any payload and sign)', () => {
    const patterns = ['7ff0000000000001', 'fff0000000000001', '7ff8000000000000', 'fff8dead0000beef', '7ff4000000000000', '7fffffffffffffff', 'ffffffffffffffff'];
    for (const hex of patterns) {
      for (const littleEndianWord of [false, true]) {
        const word = Buffer.from(hex, 'hex');
        if (littleEndianWord) word.reverse();
        // The NaN word at every alignment, between ordinary octets.
        for (let shift = 0; shift < 8; shift++) {
          const from = Buffer.concat([Buffer.alloc(shift, 0x11), word, word, Buffer.alloc(5, 0x22)]);
          const to = Buffer.alloc(from.length, 0);
          copyOctets(viewOf(from), 0, viewOf(to), 0, from.length);
          expect(to.toString('hex')).toBe(from.toString('hex'));
        }
      }
    }
  });
});
