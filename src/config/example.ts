/**
 * The example configuration a host install starts from (contrib/beacon.example.json) and the commented
 * table of every setting beside it (contrib/README.md), both generated from the settings table so that
 * neither can miss a setting. `node scripts/example-config.mjs --write` rewrites the two files;
 * test/cli/example-config.test.ts fails while they differ from what this module generates.
 */
import { defaultHelpOf, envOf, flagOf, SETTING_NAMES, specOf, type SettingName } from './settings.js';

/** Where a host install keeps its state (see contrib/systemd/beacon.service). */
const SERVER_VALUES: Partial<Record<SettingName, unknown>> = {
  dataDir: '/var/lib/beacon',
  socket: '/run/beacon/beacon.sock',
  dnsListen: ['127.0.0.1:53'],
  pretty: false,
};

/** The example config file's content: every setting that has a value (a default or a server path). */
export function exampleConfig(): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const name of SETTING_NAMES) {
    const spec = specOf(name);
    const value = SERVER_VALUES[name] ?? spec.default;
    if (value === undefined) continue;
    out[name] = spec.repeatable && !Array.isArray(value) ? [value] : value;
  }
  return out;
}

/** The example config file as written to disk. */
export function exampleConfigText(): string {
  return `${JSON.stringify(exampleConfig(), null, 2)}\n`;
}

const cell = (text: string): string => text.replace(/\|/g, '\\|');

/** A Markdown table of every setting: file key, flag, environment variable, example value, meaning. */
export function settingsMarkdownTable(): string {
  const example = exampleConfig();
  const rows = SETTING_NAMES.map((name) => {
    const spec = specOf(name);
    const value = example[name] === undefined ? `unset (${defaultHelpOf(name) ?? 'off'})` : `\`${JSON.stringify(example[name])}\``;
    const choices = spec.choices ? ` One of: ${spec.choices.join(', ')}.` : '';
    return `| \`${name}\` | \`${flagOf(name)}\` | \`${envOf(name)}\` | ${cell(value)} | ${cell(spec.description)}.${cell(choices)} |`;
  });
  return ['| key | flag | variable | example value | meaning |', '| --- | --- | --- | --- | --- |', ...rows].join('\n');
}
