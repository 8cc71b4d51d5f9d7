import { createWriteStream, type WriteStream } from 'node:fs';
import type { Alert } from '../alerts/alert.js';
import { detectionFinding, type OcsfRecord } from './ocsf.js';
import type { AlertSink } from './sink.js';

/** One alert per line to stdout ("-") or a file (appended): as auditwatch has it, or as OCSF records. */
export class NdjsonSink implements AlertSink {
  readonly name: string;
  private readonly stream: NodeJS.WritableStream | WriteStream;
  private readonly ownsStream: boolean;

  constructor(path: string, private readonly format: 'json' | 'ocsf' = 'json') {
    this.name = `ndjson:${path}`;
    this.ownsStream = path !== '-';
    this.stream = path === '-' ? process.stdout : createWriteStream(path, { flags: 'a' });
  }

  publish(alerts: readonly Alert[]): Promise<void> {
    return this.write(this.format === 'ocsf' ? alerts.map(detectionFinding) : alerts);
  }

  async publishOcsf(records: readonly OcsfRecord[]): Promise<void> {
    if (this.format === 'ocsf') await this.write(records);
  }

  private async write(items: readonly unknown[]): Promise<void> {
    if (items.length === 0) return;
    const text = items.map((a) => JSON.stringify(a)).join('\n') + '\n';
    await new Promise<void>((resolve, reject) => this.stream.write(text, (err) => (err ? reject(err) : resolve())));
  }

  async close(): Promise<void> {
    if (!this.ownsStream) return;
    await new Promise<void>((resolve) => (this.stream as WriteStream).end(() => resolve()));
  }
}
