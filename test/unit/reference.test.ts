import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { cliReference, configKeys, configurationReference, errorCodesReference, exampleConfig, metricsReference } from '../../scripts/config-reference.js';
import { validateConfig } from '../../src/config/load.js';
import { ERROR_CODES } from '../../src/errors.js';
import { PROJECT_ROOT } from '../../src/kafka/local-broker.js';

const read = (...p: string[]) => readFileSync(join(PROJECT_ROOT, ...p), 'utf8');
const STALE = 'stale: run `npm run docs` and commit the result';

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('the reference is the code', () => {
  it('docs/reference/configuration.md is generated from the schema, and every key says what it does', () => {
    expect(read('docs', 'reference', 'configuration.md'), STALE).toBe(configurationReference());
    expect(configKeys().filter((k) => !k.description).map((k) => k.path)).toEqual([]);
  });

  it('config/auditwatch.example.yaml is generated too, and is a valid config equal to the defaults', () => {
    const text = read('config', 'auditwatch.example.yaml');
    expect(text, STALE).toBe(exampleConfig());
    expect(validateConfig(parse(text), {})).toEqual(validateConfig({}, {}));
  });

  it('docs/reference/metrics.md lists exactly the metrics auditwatch registers', () => {
    expect(read('docs', 'reference', 'metrics.md'), STALE).toBe(metricsReference());
  });

  it('docs/reference/error-codes.md is the error family, and every code in it is raised somewhere', () => {
    expect(read('docs', 'reference', 'error-codes.md'), STALE).toBe(errorCodesReference());
    const source = sourceFiles(join(PROJECT_ROOT, 'src')).filter((f) => !f.endsWith('errors.ts')).map((f) => readFileSync(f, 'utf8')).join('\n');
    const unused = Object.keys(ERROR_CODES).filter((code) => !source.includes(`'${code}'`) && !(code === 'CONFIG_INVALID' && source.includes('ConfigError')) && !(code.startsWith('DECODE_') && source.includes(`'${code}'`)));
    expect(unused).toEqual([]);
  });

  it('docs/reference/cli.md is the command line', () => {
    expect(read('docs', 'reference', 'cli.md'), STALE).toBe(cliReference());
  });
});
