import { readFileSync } from 'node:fs';

/** The package's version (package.json at the root, from src/util or dist/util). */
export const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
