import type { InputFormat } from '../config/schema.js';
import type { Decoded } from '../decode/index.js';

/** One record as any source hands it to the pipeline: bytes plus where they came from. */
export interface SourceRecord {
  topic: string;
  partition: number;
  /** Kafka offset, or the line number in a file. */
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  format: InputFormat;
  /** Set when the source decoded the record ahead, on another thread; the pipeline then does not decode it again. */
  decoded?: Decoded;
}

/** A source pushes batches into `handle`; it commits a batch's position only after `handle` resolves. */
export interface Source {
  run(handle: (records: SourceRecord[]) => Promise<void>): Promise<void>;
  stop(): Promise<void>;
}
