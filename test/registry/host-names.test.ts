/** Host names per RFC 1123 §2.1: letters, digits and hyphens, and a top label that is never all digits. */
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { hasErrorCode } from '../../src/errors.js';
import { isHostName, validateAddress } from '../../src/registry/validate.js';

describe('isHostName', () => {
  it.each(['localhost', 'web-1.example.com', 'web-1.example.com.', '3com.com', '1.2.3.example', 'a.b2', 'x1'])('accepts %s', (name) => {
    expect(isHostName(name)).toBe(true);
  });

  it.each(['999.1.1.1', '10.0.0.256', '1.2.3.4', '12345', 'example.123', '-web.example', 'web-.example', 'a..b', '', 'under_score.example', `${'a'.repeat(64)}.example`])(
    'refuses %j',
    (name) => {
      expect(isHostName(name)).toBe(false);
    },
  );
});

describe('validateAddress', () => {
  it('keeps IP literals and folds host names', () => {
    expect(validateAddress('10.0.0.1')).toBe('10.0.0.1');
    expect(validateAddress('::1')).toBe('::1');
    expect(validateAddress('Web-1.Example.COM')).toBe('web-1.example.com');
  });

  it('refuses 999.1.1.1, saying why', () => {
    let error: unknown;
    try {
      validateAddress('999.1.1.1');
    } catch (caught) {
      error = caught;
    }
    expect(hasErrorCode(error, 'INVALID_ARGUMENT')).toBe(true);
    expect((error as Error).message).toMatch(/"999\.1\.1\.1" is neither an IP address nor a host name .*RFC 1123/);
  });

  it('refuses a numeric listen host too', () => {
    expect(() => loadConfig({ env: {}, flags: { dnsListen: '999.1.1.1:53' } })).toThrow(/dnsListen: bad host/);
    expect(loadConfig({ env: {}, flags: { dnsListen: 'localhost:53' } }).dnsListen).toEqual([{ host: 'localhost', port: 53 }]);
  });
});
