import { gunzipSync } from 'node:zlib';
import { DecodeError } from '../errors.js';
import { isObject, parseJson, type JsonObject } from './json.js';

const GZIP_MAGIC = [0x1f, 0x8b];

export function isGzip(value: Buffer): boolean {
  return value.length >= 2 && value[0] === GZIP_MAGIC[0] && value[1] === GZIP_MAGIC[1];
}

/** Bytes that are gzip'd, or base64 of gzip'd bytes (how Firehose and Kinesis hand CloudWatch Logs on as text). */
export function unwrapCompressed(value: Buffer): Buffer {
  if (isGzip(value)) return gunzip(value);
  // base64 of 1f 8b 08 starts "H4sI": a text transport's gzip'd payload.
  // Byte by byte: this runs on every record of the hot path.
  if (value.length > 8 && value[0] === 0x48 && value[1] === 0x34 && value[2] === 0x73 && value[3] === 0x49) {
    const raw = Buffer.from(value.toString('latin1').trim(), 'base64');
    if (isGzip(raw)) return gunzip(raw);
  }
  return value;
}

function gunzip(value: Buffer): Buffer {
  try {
    return gunzipSync(value);
  } catch (err) {
    throw new DecodeError('DECODE_BAD_FIELD', `gzip'd record does not decompress: ${(err as Error).message}`, err);
  }
}

/** The CloudTrail records an EventBridge event carries under `detail`, as rules and bus subscribers receive them. */
const CLOUDTRAIL_DETAIL_TYPES = new Set(['AWS API Call via CloudTrail', 'AWS Console Sign In via CloudTrail', 'AWS Service Event via CloudTrail', 'AWS Insight via CloudTrail']);

export function isEventBridgeEnvelope(doc: unknown): doc is JsonObject {
  return isObject(doc) && typeof doc['detail-type'] === 'string' && 'detail' in doc;
}

export function isCloudWatchLogsPayload(doc: unknown): doc is JsonObject {
  return isObject(doc) && (doc.messageType === 'DATA_MESSAGE' || doc.messageType === 'CONTROL_MESSAGE') && Array.isArray(doc.logEvents);
}

/**
 * The CloudTrail records in a document, whatever carried them: a record; a log file `{"Records": [...]}`; a JSON
 * array of records or of envelopes; an EventBridge event whose `detail` is the record; a CloudWatch Logs
 * subscription payload whose `logEvents[].message` each hold one record as a JSON string. What carries no record
 * (an EventBridge event of another kind, a CloudWatch Logs control message) is counted as ignored.
 */
export function cloudTrailRecords(doc: unknown, out: { records: unknown[]; ignored: number } = { records: [], ignored: 0 }): { records: unknown[]; ignored: number } {
  if (Array.isArray(doc)) {
    for (const d of doc) cloudTrailRecords(d, out);
  } else if (isObject(doc) && Array.isArray(doc.Records)) {
    out.records.push(...doc.Records);
  } else if (isEventBridgeEnvelope(doc)) {
    if (CLOUDTRAIL_DETAIL_TYPES.has(doc['detail-type'] as string)) out.records.push(doc.detail);
    else out.ignored++;
  } else if (isCloudWatchLogsPayload(doc)) {
    if (doc.messageType === 'CONTROL_MESSAGE') out.ignored++;
    else {
      (doc.logEvents as unknown[]).forEach((e, i) => {
        const message = isObject(e) ? e.message : undefined;
        if (typeof message !== 'string') throw new DecodeError('DECODE_MISSING_FIELD', `logEvents[${i}].message: missing (a CloudWatch Logs payload carries each record there as a string)`);
        try {
          out.records.push(parseJson(Buffer.from(message, 'utf8')));
        } catch (err) {
          throw new DecodeError('DECODE_NOT_JSON', `logEvents[${i}].message is not a JSON CloudTrail record: ${(err as Error).message}`, err);
        }
      });
    }
  } else {
    out.records.push(doc);
  }
  return out;
}

/**
 * A record's document: gzip'd or not, one JSON value, or one per line (then an array of them). What every
 * JSON-based decoder of delivered logs starts from.
 */
export function parseDocument(value: Buffer): unknown {
  const bytes = unwrapCompressed(value);
  try {
    return parseJson(bytes);
  } catch (err) {
    const text = bytes.toString('utf8');
    if (!text.includes('\n')) throw err;
    return text.split('\n').filter((l) => l.trim().length > 0).map((line) => parseJson(Buffer.from(line)));
  }
}
