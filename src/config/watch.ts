import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';
import { ConfigError } from '../errors.js';
import type { Logger } from '../log.js';
import { loadConfig } from './load.js';
import type { Config } from './schema.js';

export interface ReloadOutcome {
  refused: string[];
  needsRestart: string[];
}

/**
 * Reloads the config file on SIGHUP and when the file changes (its directory is watched, so editors that replace
 * the file are seen too). A config that does not validate, or that the pipeline refuses, leaves the running one
 * in place; every problem is logged on a line of its own.
 */
export class ConfigWatcher {
  private watcher: FSWatcher | undefined;
  private timer: NodeJS.Timeout | undefined;
  private readonly onHup = () => this.reload('SIGHUP');
  /** The file as last loaded: a change event that leaves it as it was (an edit followed by SIGHUP) reloads nothing. */
  private lastText: string | undefined;

  constructor(
    private readonly path: string,
    private readonly apply: (next: Config) => ReloadOutcome,
    private readonly log: Logger,
    private readonly outcome: (o: 'applied' | 'refused') => void,
  ) {}

  start(): void {
    this.lastText = this.text();
    process.on('SIGHUP', this.onHup);
    const file = basename(this.path);
    this.watcher = watch(dirname(resolve(this.path)), (_event, name) => {
      if (name !== file) return;
      clearTimeout(this.timer);
      this.timer = setTimeout(() => this.reload('file change'), 200); // editors write in several steps
    });
  }

  private text(): string | undefined {
    try {
      return readFileSync(this.path, 'utf8');
    } catch {
      return undefined; // loadConfig names the problem
    }
  }

  reload(trigger: 'SIGHUP' | 'file change'): void {
    // A SIGHUP covers a change event still waiting out its debounce: one edit, one reload.
    clearTimeout(this.timer);
    const text = this.text();
    if (trigger === 'file change' && text !== undefined && text === this.lastText) return;
    this.lastText = text;
    let next: Config;
    try {
      next = loadConfig(this.path);
    } catch (err) {
      const problems = err instanceof ConfigError ? err.problems : [(err as Error).message];
      for (const p of problems) this.log.error({ trigger }, p);
      this.log.error({ trigger, problems: problems.length }, 'config reload refused: keeping the running config');
      this.outcome('refused');
      return;
    }
    const { refused, needsRestart } = this.apply(next);
    if (refused.length) {
      for (const p of refused) this.log.error({ trigger }, p);
      this.log.error({ trigger }, 'config reload refused: keeping the running config');
      this.outcome('refused');
      return;
    }
    for (const key of needsRestart) this.log.warn({ trigger, key }, `config reload: ${key} changed, which takes effect only after a restart`);
    this.log.info({ trigger }, 'config reloaded');
    this.outcome('applied');
  }

  stop(): void {
    process.off('SIGHUP', this.onHup);
    clearTimeout(this.timer);
    this.watcher?.close();
  }
}
