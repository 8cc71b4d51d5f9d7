import type { ChildProcess } from 'node:child_process';

/** Ends a child process with `signal`, then SIGKILL after `graceMs`; resolves once it has exited (at once if it had). */
export async function stopChild(child: ChildProcess, graceMs: number, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/**
 * Waits until `url` answers 2xx: the server a test or the demo started is up. Fails at once when `child` exits (naming
 * the last line of its stderr), and after `timeoutMs` (having stopped it).
 */
export async function untilAnswering(url: string, child: ChildProcess, opts: { what: string; timeoutMs: number; stderr: () => string }): Promise<void> {
  const lastLine = () => opts.stderr().trim().split('\n').at(-1) ?? '';
  const deadline = Date.now() + opts.timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`${opts.what} exited with code ${child.exitCode}: ${lastLine()}`);
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await stopChild(child, 5000);
      throw new Error(`${opts.what} did not answer on ${url} within ${opts.timeoutMs} ms: ${lastLine()}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The last `max` characters a child wrote to stderr, for the error that names why it failed. */
export function stderrTail(child: ChildProcess, max = 2000): () => string {
  let text = '';
  child.stderr?.on('data', (d: Buffer) => (text = (text + d.toString()).slice(-max)));
  return () => text;
}
