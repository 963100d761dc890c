/** contrib/beacon.example.json and the settings table in contrib/README.md: generated, complete, loadable. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { exampleConfigText, settingsMarkdownTable } from '../../src/config/example.js';
import { SETTING_NAMES } from '../../src/config/settings.js';
import { ROOT } from '../e2e/daemon.js';

const EXAMPLE = path.join(ROOT, 'contrib/beacon.example.json');

describe('the example configuration', () => {
  it('is what the settings table generates (run `node scripts/example-config.mjs --write` after adding a setting)', () => {
    expect(readFileSync(EXAMPLE, 'utf8')).toBe(exampleConfigText());
    expect(readFileSync(path.join(ROOT, 'contrib/README.md'), 'utf8')).toContain(settingsMarkdownTable());
  });

  it('the table in contrib/README.md documents every setting, with its flag and variable', () => {
    const table = settingsMarkdownTable();
    for (const name of SETTING_NAMES) expect(table).toMatch(new RegExp(`^\\| \`${name}\` \\| \`--[a-z-]+\` \\| \`BEACON_[A-Z_]+\` \\|`, 'm'));
  });

  it('loads as a config file, with the host layout of the systemd unit', () => {
    const config = loadConfig({ configFile: EXAMPLE, env: {}, flags: {} });
    expect(config).toMatchObject({ dataDir: '/var/lib/beacon', socketPath: '/run/beacon/beacon.sock', store: 'sqlite', dnsListen: [{ host: '127.0.0.1', port: 53 }], pretty: false });
  });
});
