import type { InputFormat } from '../config/schema.js';
import type { Source, SourceRecord } from './source.js';

/** Records already in memory (simulated traffic, tests): a source that ends, like a file. */
export class MemorySource implements Source {
  private stopped = false;

  constructor(private readonly values: ReadonlyArray<Buffer | string>, private readonly format: InputFormat, private readonly batch = 2000) {}

  async run(handle: (records: SourceRecord[]) => Promise<void>): Promise<void> {
    for (let i = 0; i < this.values.length && !this.stopped; i += this.batch) {
      const records = this.values.slice(i, i + this.batch).map((v, j): SourceRecord => ({
        topic: 'memory', partition: 0, offset: String(i + j), key: null, value: Buffer.isBuffer(v) ? v : Buffer.from(v), format: this.format,
      }));
      await handle(records);
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
  }
}
