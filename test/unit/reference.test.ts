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

describe('the documentation', () => {
  const markdown = (dir: string): string[] => readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? markdown(p) : p.endsWith('.md') ? [p] : [];
  });
  const pages = [join(PROJECT_ROOT, 'README.md'), ...markdown(join(PROJECT_ROOT, 'docs'))];

  it('the README stays a page for users: at most 250 lines', () => {
    expect(read('README.md').split('\n').length).toBeLessThanOrEqual(250);
  });

  it('every relative link in the README and docs/ names a file that exists', () => {
    const broken: string[] = [];
    for (const page of pages) {
      for (const [, target] of readFileSync(page, 'utf8').matchAll(/\]\(([^)#\s]+)(?:#[^)]*)?\)/g)) {
        if (/^[a-z]+:/.test(target!)) continue;
        try {
          statSync(join(page, '..', target!));
        } catch {
          broken.push(`${page.slice(PROJECT_ROOT.length + 1)} -> ${target}`);
        }
      }
    }
    expect(broken).toEqual([]);
  });
});
