/**
 * ASCII-only case folding, the one definition for the whole code base. DNS compares names case-insensitively
 * for the ASCII letters A-Z only (RFC 4343 §3): other octets, UTF-8 included, compare exactly. Registry ids,
 * service names, tags and DNS labels are all folded with these two functions.
 */

/** `s` with A-Z lowered; returns `s` itself (no allocation) when it has no upper-case ASCII letter. */
export function foldAscii(s: string): string {
  return /[A-Z]/.test(s) ? s.replace(/[A-Z]+/g, (m) => m.toLowerCase()) : s;
}

/** One octet folded: 0x41-0x5A ('A'-'Z') to 0x61-0x7A, every other octet unchanged. */
export function foldOctet(octet: number): number {
  return octet >= 0x41 && octet <= 0x5a ? octet + 0x20 : octet;
}
