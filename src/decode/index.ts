import type { InputFormat } from '../config/schema.js';
import { AuditwatchError, DecodeError } from '../errors.js';
import type { SourceRecord } from './record.js';
import { canonicalFromDocument, decodeCanonicalAvro, decodeCanonicalAvroBatch, decodeCanonicalJson } from './canonical.js';
import { azureFromDocument, decodeAzureActivity, looksLikeAzure } from './azure.js';
import { cloudTrailFromDocument, decodeCloudTrail, looksLikeCloudTrail } from './cloudtrail.js';
import { decodeGcpAudit, gcpFromDocument, looksLikeGcp } from './gcp.js';
import { decodeGithubAudit, githubFromDocument, looksLikeGithub } from './github.js';
import type { Decoder, DecodeContext, DecodeResult } from './context.js';
import { parseDocument, unwrapCompressed } from './envelopes.js';
import { decodeKubernetes, decodeKubernetesCsv, kubernetesFromDocument, looksLikeKubernetes } from './kubernetes.js';

/** Recognises the format from the bytes: Confluent Avro by its magic byte, JSON by its shape. */
function decodeAuto(raw: Buffer, ctx: DecodeContext): DecodeResult {
  if (raw.length === 0) throw new DecodeError('DECODE_EMPTY', 'empty record');
  // gzip'd (or base64 of gzip'd) records, as Firehose and Kinesis deliver CloudWatch Logs, are read inside.
  const value = unwrapCompressed(raw);
  if (value[0] === 0) return decodeCanonicalAvro(value, ctx);
  // Parsed once: the shape says which format it is, and that format's decoder maps the same document.
  const doc = parseDocument(value);
  if (looksLikeCloudTrail(doc)) return cloudTrailFromDocument(doc, ctx);
  if (looksLikeKubernetes(doc)) return kubernetesFromDocument(doc, ctx);
  if (looksLikeGcp(doc)) return gcpFromDocument(doc, ctx);
  if (looksLikeAzure(doc)) return azureFromDocument(doc, ctx);
  if (looksLikeGithub(doc)) return githubFromDocument(doc, ctx);
  return canonicalFromDocument(doc);
}

/** One decoder per input format: the only place a format name turns into code. */
export const DECODERS: Record<InputFormat, Decoder> = {
  auto: decodeAuto,
  'canonical-json': decodeCanonicalJson,
  'canonical-avro': decodeCanonicalAvro,
  'canonical-avro-batch': decodeCanonicalAvroBatch,
  cloudtrail: decodeCloudTrail,
  'gcp-audit': decodeGcpAudit,
  'azure-activity': decodeAzureActivity,
  'github-audit': decodeGithubAudit,
  k8s: decodeKubernetes,
  'k8s-csv': decodeKubernetesCsv,
};

export type { Decoder, DecodeContext, DecodeResult, DecodeSettings } from './context.js';
export { decodeContextFrom, decodeSettingsOf } from './context.js';

/** What decoding one record gave: its events, or the reason it has none. */
export type Decoded = DecodeResult | { error: AuditwatchError };

/**
 * One record through its format's decoder, unless a decode thread has already done it (DecodeAhead). Every failure
 * comes back as a coded error (an unexpected throw becomes DECODE_BAD_FIELD), for the dead-letter topic: detection
 * and the repartition stage both decode this way.
 */
export function decodeRecord(record: SourceRecord, ctx: DecodeContext): Decoded {
  return record.decoded ?? decodeValue(record.value, record.format, ctx);
}

/** decodeRecord for a bare value, where there is no SourceRecord to build (the consumer thread decodes kafkajs's messages). */
export function decodeValue(value: Buffer | null, format: InputFormat, ctx: DecodeContext): Decoded {
  try {
    if (value === null) throw new DecodeError('DECODE_EMPTY', 'record has no value (tombstone)');
    return DECODERS[format](value, ctx);
  } catch (err) {
    return { error: err instanceof AuditwatchError ? err : new DecodeError('DECODE_BAD_FIELD', `decoder failed: ${(err as Error).message}`, err) };
  }
}
