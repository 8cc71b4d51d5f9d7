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
