import type { SourceRecord } from '../decode/record.js';

export type { SourceRecord } from '../decode/record.js';

/** A source pushes batches into `handle`; it commits a batch's position only after `handle` resolves. */
export interface Source {
  run(handle: (records: SourceRecord[]) => Promise<void>): Promise<void>;
  stop(): Promise<void>;
}
