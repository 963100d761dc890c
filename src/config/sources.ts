/**
 * Where raw setting values come from: the environment (`BEACON_*`), a JSON config file (camelCase keys),
 * and command-line flags (commander's camelCase option names, which are the setting names). The names
 * are those of the settings table; nothing here is spelled per setting.
 */
import { readFileSync } from 'node:fs';
import { InvalidConfigurationError } from '../errors.js';
import { envOf, SETTING_NAMES, type RawSettings, type SettingName } from './settings.js';

/** Read the settings found in the environment (`BEACON_*`). Unset and empty variables are ignored. */
export function settingsFromEnv(env: NodeJS.ProcessEnv): RawSettings {
  const out: RawSettings = {};
  for (const name of SETTING_NAMES) {
    const value = env[envOf(name)];
    if (value !== undefined && value !== '') out[name] = value;
  }
  return out;
}

/** Read a JSON config file: an object whose keys are setting names. Unknown keys are an error (typos). */
export function settingsFromFile(file: string): RawSettings {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (cause) {
    throw new InvalidConfigurationError(`config file ${file}: cannot read it (${(cause as Error).message})`, 'config');
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (cause) {
    throw new InvalidConfigurationError(`config file ${file}: not valid JSON (${(cause as Error).message})`, 'config');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new InvalidConfigurationError(`config file ${file}: expected a JSON object`, 'config');
  }
  const out: RawSettings = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (!isSettingName(key)) {
      throw new InvalidConfigurationError(`config file ${file}: unknown setting ${JSON.stringify(key)} (known: ${SETTING_NAMES.join(', ')})`, key);
    }
    out[key] = value;
  }
  return out;
}

/** The settings among parsed command-line options (other options, e.g. `config`, are left out). */
export function settingsFromFlags(options: Readonly<Record<string, unknown>>): RawSettings {
  const out: RawSettings = {};
  for (const name of SETTING_NAMES) if (options[name] !== undefined) out[name] = options[name];
  return out;
}

/** Whether `key` names a setting. */
export function isSettingName(key: string): key is SettingName {
  return (SETTING_NAMES as readonly string[]).includes(key);
}
