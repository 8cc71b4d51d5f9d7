import { isAbsolute, resolve } from 'node:path';
import { Option } from 'commander';
import { loadConfig } from '../config/load.js';
import { INPUT_FORMATS, type Config, type InputFormat } from '../config/schema.js';

import { UsageError } from '../errors.js';
export { UsageError };

export const formatOption = () => new Option('--format <format>', 'input format').choices(INPUT_FORMATS).default('auto');

/** ISO-8601 or epoch milliseconds. */
export function parseTimeArg(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const t = /^\d+$/.test(text) ? Number(text) : Date.parse(text);
  if (Number.isNaN(t)) throw new UsageError(`${flag}: expected an ISO-8601 time or epoch milliseconds, got "${text}"`);
  return t;
}

/**
 * The config file with the environment's overrides and then `flags` (keys in the environment's form, e.g.
 * `{ AUDITWATCH__WORKERS: '2' }`), all validated together: a bad flag is reported against its key, by the same rules.
 */
export function configFrom(opts: { config?: string; modelDir?: string }, flags: Record<string, string> = {}): Config {
  const config = loadConfig(opts.config, { ...process.env, ...flags });
  if (opts.modelDir) config.modelDir = opts.modelDir;
  return config;
}

export function absolute(path: string): string {
  return isAbsolute(path) ? path : resolve(process.cwd(), path);
}

/** The options every command that reads a window of events takes. */
export interface WindowArgs {
  input?: string;
  topic?: string;
  from?: string;
  to?: string;
  format: InputFormat;
  modelDir?: string;
}

/** --input FILE or --topic T [--from --to]: exactly one. */
export function inputChoice(opts: { input?: string; topic?: string; from?: string; to?: string }): { kind: 'file'; path: string } | { kind: 'topic'; topic: string; from?: number; to?: number } {
  if (opts.input !== undefined && opts.topic !== undefined) throw new UsageError('give either --input or --topic, not both');
  if (opts.input !== undefined) {
    if (opts.from !== undefined || opts.to !== undefined) throw new UsageError('--from and --to go with --topic');
    return { kind: 'file', path: opts.input };
  }
  if (opts.topic !== undefined) {
    const from = parseTimeArg('--from', opts.from);
    const to = parseTimeArg('--to', opts.to);
    if (from !== undefined && to !== undefined && to <= from) throw new UsageError('--to must be later than --from');
    return { kind: 'topic', topic: opts.topic, from, to };
  }
  throw new UsageError('one of --input FILE (or - for stdin) or --topic TOPIC is required');
}

/** Resolves on the first SIGTERM or SIGINT: the servers (`gate`, `admission`) run until then. */
export function untilSignal(): Promise<void> {
  return new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
}
