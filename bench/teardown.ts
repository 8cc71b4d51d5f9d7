import type { ChildProcess } from 'node:child_process';

/**
 * What a bench started, stopped in reverse order whether the run ends, fails or is interrupted (Ctrl-C). A bench
 * that failed halfway used to leave its broker, PostgreSQL and `auditwatch run` behind, holding cores and ports that
 * the next run then measured against.
 */
export class Teardown {
  private readonly steps: Array<{ what: string; step: () => unknown }> = [];
  private running: Promise<void> | undefined;

  constructor() {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => void this.run().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143)));
    }
  }

  /** Registers a step; a step that fails is reported and the rest still run. */
  add(what: string, step: () => unknown): void {
    this.steps.push({ what, step });
  }

  /** A child process: SIGTERM, and SIGKILL if it has not exited after `graceMs`. */
  addProcess(what: string, child: ChildProcess, graceMs = 10_000): void {
    this.add(what, () => stopProcess(child, graceMs));
  }

  /** Runs every step once, newest first. */
  run(): Promise<void> {
    this.running ??= (async () => {
      for (const { what, step } of this.steps.reverse()) {
        try {
          await step();
        } catch (err) {
          process.stderr.write(`teardown: ${what}: ${err instanceof Error ? err.message : String(err)}\n`);
        }
      }
    })();
    return this.running;
  }
}

export async function stopProcess(child: ChildProcess, graceMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}
