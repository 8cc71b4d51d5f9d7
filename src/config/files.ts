import { readFileSync } from 'node:fs';
import { ConfigError } from '../errors.js';

/** A file the config names (a key, a certificate, a password): one ConfigError line naming the key if it cannot be read. */
export function readConfigFile(path: string, key: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ConfigError([`config: ${key}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)})`]);
  }
}

/** A secret the config names by environment variable: one ConfigError line naming the key if it is not set. */
export function envSecret(env: NodeJS.ProcessEnv, key: string, variable: string): string {
  const value = env[variable];
  if (!value) throw new ConfigError([`config: ${key}: environment variable ${variable} is not set`]);
  return value;
}
