import { createWriteStream, type WriteStream } from 'node:fs';
import type { Alert } from '../alerts/alert.js';
import type { AlertSink } from './sink.js';

/** One alert per line to stdout ("-") or a file (appended). */
export class NdjsonSink implements AlertSink {
  readonly name: string;
  private readonly stream: NodeJS.WritableStream | WriteStream;
  private readonly ownsStream: boolean;

  constructor(path: string) {
    this.name = `ndjson:${path}`;
    this.ownsStream = path !== '-';
    this.stream = path === '-' ? process.stdout : createWriteStream(path, { flags: 'a' });
  }

  async publish(alerts: readonly Alert[]): Promise<void> {
    if (alerts.length === 0) return;
    const text = alerts.map((a) => JSON.stringify(a)).join('\n') + '\n';
    await new Promise<void>((resolve, reject) => this.stream.write(text, (err) => (err ? reject(err) : resolve())));
  }

  async close(): Promise<void> {
    if (!this.ownsStream) return;
    await new Promise<void>((resolve) => (this.stream as WriteStream).end(() => resolve()));
  }
}
