/**
 * A decode thread of DecodeAhead: pieces of whole lines in, their decoded records out, as DecodedWriter bytes.
 * It runs the pipeline's own decodeRecord, with a decode context built from the same config.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { InputFormat } from '../config/schema.js';
import { decodeContextFrom, type DecodeSettings } from '../decode/index.js';
import { DecodedWriter } from '../decode/transfer.js';
import { decodePiece } from './decode-ahead.js';

export interface PieceRequest {
  seq: number;
  piece: Uint8Array;
  format: InputFormat;
}

export interface PieceReply {
  seq: number;
  decoded: Uint8Array;
}

const port = parentPort!;
const ctx = decodeContextFrom(workerData as DecodeSettings);
const writer = new DecodedWriter();

port.on('message', ({ seq, piece, format }: PieceRequest) => {
  const { lines, records } = decodePiece(Buffer.from(piece.buffer, piece.byteOffset, piece.byteLength), format, ctx);
  writer.begin(lines);
  for (const record of records) writer.record(record);
  const decoded = writer.finish();
  port.postMessage({ seq, decoded } satisfies PieceReply, [decoded.buffer as ArrayBuffer]);
});
