import type { DecodeContext } from '../decode/index.js';
import { confluentSchemaId } from '../kafka/schema-registry.js';
import type { Logger } from '../log.js';
import type { SourceRecord } from '../sources/source.js';
import { retryWhileTransient } from '../util/retry.js';

/**
 * Before a batch is decoded, with a schema registry configured: the writer schemas its Confluent-framed Avro records
 * name are looked up (each id once, ever), so that decoding stays synchronous. A registry that does not answer is
 * retried here while the batch waits, and nothing is dead-lettered for it. Records a decode thread handed back for
 * want of a schema (DECODE_SCHEMA_PENDING) are decoded again, by the detection thread, with what was looked up.
 */
export async function lookUpWriterSchemas(records: readonly SourceRecord[], ctx: DecodeContext, log: Logger, stopping: () => boolean): Promise<void> {
  const writers = ctx.writerSchemas;
  if (!writers?.ensure) return;
  const missing = new Set<number>();
  for (const r of records) {
    if (r.format !== 'auto' && r.format !== 'canonical-avro') continue;
    const id = confluentSchemaId(r.value);
    if (id !== undefined && !writers.lookup(id)) missing.add(id);
  }
  if (missing.size) await retryWhileTransient(() => writers.ensure!(missing), { what: 'looking up writer schemas', log, stopping });
  for (const r of records) {
    if (r.decoded && 'error' in r.decoded && r.decoded.error.code === 'DECODE_SCHEMA_PENDING') r.decoded = undefined;
  }
}
