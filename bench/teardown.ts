import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

/**
 * What a bench started, stopped in reverse order whether the run ends, fails or is interrupted (Ctrl-C). A bench
 * that failed halfway used to leave its broker, PostgreSQL and `auditwatch run` behind, holding cores and ports that
 * the next run then measured against.
 */
export class Teardown {
  private readonly steps: Array<{ what: string; step: () => unknown }> = [];
  private running: Promise<void> | undefined;
  /** Processes killed outright if this one exits with them still running (a bench that threw gives no time to stop). */
  private readonly pids = new Set<number>();
  private readonly dirs = new Set<string>();

  constructor() {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => void this.run().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143)));
    }
    // A bench that throws: exit here, so that the 'exit' listener below kills what is still running, whatever
    // other handlers are installed after this one (tfjs's WASM module installed one that rethrew, which ended the
    // process with code 7 and no 'exit' event; src/model/backend.ts now removes it). No time for graceful steps then.
    process.once('uncaughtException', (err) => {
      process.stderr.write(`${err.stack ?? String(err)}\n`);
      process.exit(1);
    });
    process.once('exit', () => {
      for (const pid of this.pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Gone already.
        }
      }
      for (const dir of this.dirs) rmSync(dir, { recursive: true, force: true });
    });
  }

  /** A directory to remove if this process exits before a step removed it. */
  removeOnExit(dir: string): () => void {
    this.dirs.add(dir);
    return () => void this.dirs.delete(dir);
  }

  /** A process to kill if this one exits before a step stopped it; call what it returns once it has stopped. */
  killOnExit(pid: number | undefined): () => void {
    if (pid !== undefined) this.pids.add(pid);
    return () => void (pid !== undefined && this.pids.delete(pid));
  }

  /** Registers a step; a step that fails is reported and the rest still run. */
  add(what: string, step: () => unknown): void {
    this.steps.push({ what, step });
  }

  /**
   * A server started outside this process's children (the broker, PostgreSQL's daemon): stopped by `stop` as a step,
   * and killed by pid and its directory removed if this process exits before that step ran.
   */
  addServer(what: string, server: { pid: number; dir: string; stop: () => Promise<void> }): void {
    const forget = [this.killOnExit(server.pid), this.removeOnExit(server.dir)];
    this.add(what, async () => {
      await server.stop();
      for (const f of forget) f();
    });
  }

  /** A child process: SIGTERM, and SIGKILL if it has not exited after `graceMs`. */
  addProcess(what: string, child: ChildProcess, graceMs = 10_000): void {
    child.once('exit', this.killOnExit(child.pid));
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

/** The benches' one teardown: their broker is on it (benchBroker), and each bench adds what it starts. */
export const teardown = new Teardown();
