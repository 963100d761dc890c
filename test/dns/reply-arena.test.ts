import { describe, expect, it } from 'vitest';
import { ReplyArena, slotBytes, type ArenaSlot } from '../../src/dns/reply-arena.js';

const slot = (): ArenaSlot => ({ memory: Buffer.alloc(0), offset: 0, length: 0, slab: undefined, index: -1 });
const reply = (n: number, fill: number): Buffer => Buffer.alloc(n, fill);

describe('ReplyArena', () => {
  it('packs replies into one slab and keeps each one intact', () => {
    const arena = new ReplyArena();
    const slots = Array.from({ length: 100 }, (_, i) => {
      const s = slot();
      arena.place(s, reply(100, i));
      return s;
    });
    expect(new Set(slots.map((s) => s.memory.buffer)).size).toBe(1);
    expect(arena.pinned).toBe(64 * 1024);
    slots.forEach((s, i) => expect(slotBytes(s).equals(reply(100, i))).toBe(true));
  });

  it('moves the replies left in a mostly empty slab, and lets the slab go', () => {
    const arena = new ReplyArena();
    // Two full slabs of 1000-octet replies (65 per slab), then drop all but every fourth of the first.
    const slots = Array.from({ length: 130 }, (_, i) => {
      const s = slot();
      arena.place(s, reply(1000, i % 256));
      return s;
    });
    const first = slots[0]!.memory.buffer;
    expect(arena.pinned).toBe(2 * 64 * 1024);
    const kept = slots.filter((s, i) => s.memory.buffer === first && i % 4 === 0);
    for (const [i, s] of slots.entries()) if (s.memory.buffer === first && i % 4 !== 0) arena.release(s);
    for (const s of kept) expect(s.memory.buffer).not.toBe(first);
    for (const s of kept) expect(slotBytes(s).equals(reply(1000, slots.indexOf(s) % 256))).toBe(true);
    expect(arena.pinned).toBe(2 * 64 * 1024);
    for (const s of slots) if (s.slab !== undefined) arena.release(s);
    expect(arena.pinned).toBe(0);
  });

  it('gives a large reply memory of its own and counts it exactly', () => {
    const arena = new ReplyArena();
    const s = slot();
    arena.place(s, reply(20_000, 7));
    expect(arena.pinned).toBe(20_000);
    arena.release(s);
    arena.release(s);
    expect(arena.pinned).toBe(0);
  });
});
