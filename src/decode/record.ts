import type { InputFormat } from '../config/schema.js';
import type { Decoded } from './index.js';

/**
 * One record as any source hands it on: bytes plus where they came from. Defined here, with the decoders that read
 * it, so that decode needs nothing from the sources that produce it.
 */
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
