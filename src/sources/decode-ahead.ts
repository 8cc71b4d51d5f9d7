import { setImmediate as yieldToEvents } from 'node:timers/promises';
import type { Worker } from 'node:worker_threads';
import type { InputFormat } from '../config/schema.js';
import { decodeContextFrom, decodeRecord, type DecodeContext, type Decoded, type DecodeSettings } from '../decode/index.js';
import { DecodedReader, type DecodedLine } from '../decode/transfer.js';
import { AuditwatchError } from '../errors.js';
import type { PieceReply, PieceRequest } from './decode-thread.js';
import { LineSplitter, type LineRecords } from './lines.js';
import type { SourceRecord } from './source.js';
import { startThread } from '../util/threads.js';

/** A piece decoded: how many lines it had (empty ones included), and a record per non-empty line. */
export interface DecodedPiece {
  lines: number;
  records: DecodedLine[];
}

/**
 * A piece back from its thread, still as bytes: it becomes events only when detection takes it, so that the
 * pieces read ahead do not hold thousands of events long enough for the collector to move them to the old space.
 */
export interface EncodedPiece {
  read(): DecodedPiece;
}

/** A piece of whole lines (it ends at a newline, or at its input's end), each line decoded as the pipeline would. */
export function decodePiece(piece: Buffer, format: InputFormat, ctx: DecodeContext): DecodedPiece {
  const lines = new LineSplitter('', format);
  const records: DecodedLine[] = [];
  lines.forEachLine(piece, true, (line, value) => {
    const start = value.byteOffset - piece.byteOffset;
    records.push({ line, start, end: start + value.length, decoded: decodeRecord({ topic: '', partition: 0, offset: '', key: null, value, format }, ctx) });
  });
  return { lines: lines.count, records };
}

/** Built, the thread is the .js file beside this one; run from source (tests, bench), the .ts file. */
function startDecodeThread(settings: DecodeSettings): Worker {
  return startThread(new URL(import.meta.url.endsWith('.ts') ? './decode-thread.ts' : './decode-thread.js', import.meta.url), settings);
}

interface Thread {
  worker: Worker;
  reader: DecodedReader;
}

/**
 * Pieces queued per thread: enough to keep it busy while detection works through what came back, or decodes a
 * piece itself. With 4, a CPU profile of replay found the decode thread idle 8–9% of the time; with 8, 2–3%.
 */
const QUEUED_PER_THREAD = 8;

/**
 * Threads that decode pieces of lines: JSON.parse and mapping records to events, the larger part of a replay's
 * work, and independent per line. Detection must see the events in order on one thread; AheadLines puts them back
 * in order.
 */
export class DecodeAhead {
  readonly ctx: DecodeContext;
  private readonly threads: Thread[];
  private readonly waiting = new Map<number, { resolve: (p: EncodedPiece) => void; reject: (err: Error) => void }>();
  private next = 0;
  private failure: Error | undefined;

  constructor(threads: number, settings: DecodeSettings) {
    this.ctx = decodeContextFrom(settings);
    this.threads = Array.from({ length: threads }, () => {
      const thread: Thread = { worker: startDecodeThread(settings), reader: new DecodedReader() };
      // A thread's pieces are read in the order it wrote them, which its reader's string table relies on: AheadLines
      // takes every piece in the order it queued them, and each thread works through its own in that order.
      thread.worker.on('message', ({ seq, decoded }: PieceReply) => {
        const waiter = this.waiting.get(seq)!;
        this.waiting.delete(seq);
        waiter.resolve({ read: () => thread.reader.read(Buffer.from(decoded.buffer, decoded.byteOffset, decoded.byteLength)) });
      });
      // The replay then fails: the lines given to this thread would otherwise be skipped.
      thread.worker.on('error', (err) => this.fail(new AuditwatchError('THREAD_FAILED', `decode thread failed: ${err.message}`, { cause: err })));
      thread.worker.on('exit', (code) => this.fail(new AuditwatchError('THREAD_FAILED', `decode thread exited with code ${code}`)));
      return thread;
    });
  }

  /** Pieces the threads hold at most, queued or being decoded. */
  get capacity(): number {
    return QUEUED_PER_THREAD * this.threads.length;
  }

  /** Whether another piece can be queued without the threads' queues growing past what keeps them busy. */
  get hasRoom(): boolean {
    return this.waiting.size < this.capacity;
  }

  decode(piece: Buffer, format: InputFormat): Promise<EncodedPiece> {
    if (this.failure) return Promise.reject(this.failure);
    const seq = this.next++;
    // A copy of just the piece, handed over rather than cloned: the chunk it is cut from stays here for the records.
    const own = new Uint8Array(piece);
    const result = new Promise<EncodedPiece>((resolve, reject) => this.waiting.set(seq, { resolve, reject }));
    this.threads[seq % this.threads.length]!.worker.postMessage({ seq, piece: own, format } satisfies PieceRequest, [own.buffer]);
    return result;
  }

  async close(): Promise<void> {
    this.failure ??= new AuditwatchError('THREAD_FAILED', 'decode threads closed');
    await Promise.all(this.threads.map((t) => t.worker.terminate()));
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    for (const w of this.waiting.values()) w.reject(err);
    this.waiting.clear();
  }
}

/** Lines are cut into pieces of about this size: small enough to share out evenly, large enough that a hop is cheap. */
export const PIECE_BYTES = 1024 * 1024;

/**
 * A record decoded ahead. Its value and offset are made when asked for: only a dead letter or a report needs them,
 * and a Buffer and a string for every line are a good part of what the collector would otherwise clear.
 */
class PieceRecord implements SourceRecord {
  readonly partition = 0;
  readonly key = null;
  readonly decoded: Decoded;

  constructor(readonly topic: string, readonly format: InputFormat, private readonly piece: Buffer, private readonly lineBase: number, private readonly line: DecodedLine) {
    this.decoded = line.decoded;
  }

  get offset(): string {
    return String(this.lineBase + this.line.line);
  }

  get value(): Buffer {
    return this.piece.subarray(this.line.start, this.line.end);
  }
}

interface Piece {
  bytes: Buffer;
  /** Queued on a decode thread. */
  sent?: Promise<EncodedPiece>;
  /** Back from it. */
  arrived?: EncodedPiece;
  decoded?: DecodedPiece;
}

/**
 * One input's lines, decoded ahead and given back in file order, with the line numbers, values and decode results
 * that splitting here and decoding in the pipeline would give.
 * Detection's own thread decodes too: while the piece it needs next is still on a decode thread, it decodes the
 * next piece no thread has taken. So the work balances itself between detection and the threads, whatever their
 * speeds: on two cores, one decode thread and the detection thread share the decoding.
 */
export class AheadLines implements LineRecords {
  /** Read but not yet cut: chunks are gathered until they make a piece (stdin comes in chunks of 64 KiB). */
  private rest: Buffer[] = [];
  private restBytes = 0;
  private readonly queue: Piece[] = [];
  private lineBase = 0;
  /** Pieces read ahead of the one detection takes next: what the threads hold, and as many for this thread to take. */
  private readonly lookahead: number;

  constructor(private readonly name: string, private readonly format: InputFormat, private readonly ahead: DecodeAhead, private readonly pieceBytes: number) {
    this.lookahead = 2 * ahead.capacity;
  }

  async push(chunk: Buffer, last: boolean): Promise<SourceRecord[]> {
    this.rest.push(chunk);
    this.restBytes += chunk.length;
    if (last || this.restBytes >= this.pieceBytes) {
      const buf = this.rest.length === 1 ? this.rest[0]! : Buffer.concat(this.rest, this.restBytes);
      this.rest = [];
      this.restBytes = 0;
      this.cut(buf, last);
    }
    this.dispatch();
    const records: SourceRecord[] = [];
    while (this.queue.length > this.lookahead || (last && this.queue.length > 0)) {
      const head = this.queue[0]!;
      if (!head.decoded && head.arrived) head.decoded = head.arrived.read();
      if (!head.decoded) {
        const untaken = this.queue.find((p) => !p.sent && !p.decoded);
        if (untaken) {
          untaken.decoded = decodePiece(untaken.bytes, this.format, this.ahead.ctx);
          // Let the threads' replies in, so that the next loop sees what has come back meanwhile.
          await yieldToEvents();
          this.dispatch();
          continue;
        }
        head.decoded = (await head.sent!).read();
      }
      this.queue.shift();
      for (const d of head.decoded.records) records.push(new PieceRecord(this.name, this.format, head.bytes, this.lineBase, d));
      this.lineBase += head.decoded.lines;
      this.dispatch();
    }
    return records;
  }

  /** Whole lines into pieces of about pieceBytes; an unfinished last line waits for the next chunk. */
  private cut(buf: Buffer, last: boolean): void {
    let start = 0;
    while (buf.length - start > this.pieceBytes) {
      // A line longer than a piece makes a piece of its own.
      let end = buf.lastIndexOf(0x0a, start + this.pieceBytes - 1) + 1;
      if (end <= start) end = buf.indexOf(0x0a, start + this.pieceBytes) + 1;
      if (end <= 0) break;
      this.queue.push({ bytes: buf.subarray(start, end) });
      start = end;
    }
    const end = last ? buf.length : buf.lastIndexOf(0x0a) + 1;
    if (end > start) {
      this.queue.push({ bytes: buf.subarray(start, end) });
      start = end;
    }
    if (start < buf.length) {
      this.rest = [Buffer.from(buf.subarray(start))];
      this.restBytes = buf.length - start;
    }
  }

  /** Queues untaken pieces on the threads, nearest first, while they have room. */
  private dispatch(): void {
    for (const p of this.queue) {
      if (!this.ahead.hasRoom) return;
      if (p.sent || p.decoded) continue;
      p.sent = this.ahead.decode(p.bytes, this.format);
      // A rejection is seen where the piece is awaited; until then it must not count as unhandled.
      p.sent.then((encoded) => void (p.arrived = encoded), () => {});
    }
  }
}
