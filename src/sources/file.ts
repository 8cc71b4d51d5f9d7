import { closeSync, createReadStream, openSync, readdirSync, readSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { createGunzip } from 'node:zlib';
import type { InputFormat } from '../config/schema.js';
import type { DecodeSettings } from '../decode/index.js';
import { AheadLines, DecodeAhead, PIECE_BYTES } from './decode-ahead.js';
import { firstByte, lineEnd, LineSplitter, type LineRecords } from './lines.js';
import type { Source, SourceRecord } from './source.js';

const BATCH = 2000;

/** A file is one record (a JSON array, a pretty-printed CloudTrail log file, Avro) or one record per line. */
type Shape = 'lines' | 'whole';

/**
 * What a file is, from its head: a JSON array or a pretty-printed document (a CloudTrail log file) is one record;
 * otherwise each non-empty line is one (NDJSON, CSV). `undefined` while the head is too short to tell: the first
 * line not complete, or only one line so far (a file of one line is one record).
 */
function shapeOf(head: Buffer, complete: boolean, format: InputFormat): Shape | undefined {
  if (format === 'canonical-avro') return 'whole';
  if (format === 'k8s-csv') return 'lines';
  if (firstByte(head) === 0x5b /* [ */) return 'whole';
  const lines = nonEmptyLines(head, complete, 2);
  if (lines.length < 2) return complete ? 'whole' : undefined;
  // One JSON document over several lines: its first line alone is not valid JSON.
  try {
    JSON.parse(lines[0]!.toString('utf8'));
    return 'lines';
  } catch {
    return 'whole';
  }
}

/** Up to `max` non-empty lines from the start of `buf`. */
function nonEmptyLines(buf: Buffer, complete: boolean, max: number): Buffer[] {
  const lines: Buffer[] = [];
  for (let start = 0, end; start < buf.length && lines.length < max && (end = lineEnd(buf, start, complete)) >= 0; start = end + 1) {
    const line = buf.subarray(start, end);
    if (firstByte(line) !== undefined) lines.push(line);
  }
  return lines;
}

/** The whole of a file as records, for tests and small inputs: what FileSource reads in pieces. */
export function splitRecords(buf: Buffer, name: string, format: InputFormat): SourceRecord[] {
  if (firstByte(buf) === undefined) return [];
  if (shapeOf(buf, true, format) === 'whole') return [{ topic: name, partition: 0, offset: '1', key: null, value: buf, format }];
  return new LineSplitter(name, format).push(buf, true);
}

/** Read in pieces of this size: a replay of a file larger than memory streams through. */
const CHUNK_BYTES = 8 * 1024 * 1024;

export interface FileSourceOptions {
  chunkBytes?: number;
  /**
   * Decode lines on this many other threads, ahead of detection, with the decoders configured from these settings.
   * Only an input of lines larger than one chunk is worth it (or stdin, whose size is not known).
   */
  decodeAhead?: { threads: number; settings: DecodeSettings };
}

/** What a file source read: how much, and what its files were. */
export interface FileStats {
  files: number;
  gzipFiles: number;
  bytes: number;
  records: number;
}

/** Every file under `dir`, however deep, in a stable order (by path), as an S3 export lays CloudTrail out. */
function filesUnder(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const full = join(d, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) out.push(full);
    }
  };
  walk(dir);
  return out.sort((a, b) => (relative(dir, a) < relative(dir, b) ? -1 : 1));
}

/** Whether a file starts with gzip's magic bytes (its name is not trusted: `.json.gz` and gzip'd NDJSON alike). */
function gzipped(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const magic = Buffer.alloc(2);
    return readSync(fd, magic, 0, 2, 0) === 2 && magic[0] === 0x1f && magic[1] === 0x8b;
  } finally {
    closeSync(fd);
  }
}

/**
 * A file, a directory tree of files (read recursively, sorted by path), or stdin ("-"); gzip'd files are
 * decompressed as they stream. Ends when all is read.
 */
export class FileSource implements Source {
  private stopped = false;
  readonly stats: FileStats = { files: 0, gzipFiles: 0, bytes: 0, records: 0 };
  private readonly chunkBytes: number;
  private ahead: DecodeAhead | undefined;

  constructor(private readonly path: string, private readonly format: InputFormat, private readonly opts: FileSourceOptions = {}) {
    this.chunkBytes = opts.chunkBytes ?? CHUNK_BYTES;
  }

  async run(handle: (records: SourceRecord[]) => Promise<void>): Promise<void> {
    const inputs: Array<{ name: string; bytes: number; chunks: (chunkBytes: number) => AsyncIterable<Buffer> }> = [];
    const fromFile = (file: string) => (chunkBytes: number) => createReadStream(file, { highWaterMark: chunkBytes }) as AsyncIterable<Buffer>;
    const fromGzip = (file: string) => (chunkBytes: number) => createReadStream(file, { highWaterMark: chunkBytes }).pipe(createGunzip({ chunkSize: Math.min(chunkBytes, 1024 * 1024) })) as AsyncIterable<Buffer>;
    const addFile = (file: string) => {
      const size = statSync(file).size;
      this.stats.files++;
      this.stats.bytes += size;
      // A gzip'd file's size once decompressed is not known: it streams, like stdin.
      if (size >= 2 && gzipped(file)) {
        this.stats.gzipFiles++;
        inputs.push({ name: file, bytes: Infinity, chunks: fromGzip(file) });
      } else inputs.push({ name: file, bytes: size, chunks: fromFile(file) });
    };
    if (this.path === '-') inputs.push({ name: 'stdin', bytes: Infinity, chunks: () => process.stdin as AsyncIterable<Buffer> });
    else if (statSync(this.path).isDirectory()) for (const f of filesUnder(this.path)) addFile(f);
    else addFile(this.path);

    const threads = this.opts.decodeAhead?.threads ?? 0;
    // Decoding ahead reads a piece at a time: what is read but not yet detected stays small.
    const pieceBytes = Math.min(PIECE_BYTES, this.chunkBytes);
    try {
      for (const input of inputs) {
        if (this.stopped) break;
        // A file that fits in one read is not worth the threads' start.
        if (threads > 0 && input.bytes > this.chunkBytes) {
          // The threads start once a file turns out to be lines (a CloudTrail log file is one record).
          const aheadLines = () => new AheadLines(input.name, this.format, (this.ahead ??= new DecodeAhead(threads, this.opts.decodeAhead!.settings)), pieceBytes);
          await this.read(input.name, input.chunks(pieceBytes), handle, aheadLines);
        } else {
          await this.read(input.name, input.chunks(this.chunkBytes), handle, () => new LineSplitter(input.name, this.format));
        }
      }
    } finally {
      await this.ahead?.close();
    }
  }

  /**
   * One input: its head decides its shape; a one-record file is read whole, lines go to the pipeline a batch at a
   * time as the chunks arrive.
   */
  private async read(name: string, chunks: AsyncIterable<Buffer>, handle: (records: SourceRecord[]) => Promise<void>, lineRecords: () => LineRecords): Promise<void> {
    let head: Buffer[] = [];
    let headBytes = 0;
    let shape: Shape | undefined;
    let lines: LineRecords | undefined;
    let pending: SourceRecord[] = [];
    const flush = async (all: boolean) => {
      while (pending.length >= BATCH || (all && pending.length > 0)) {
        if (this.stopped) return;
        this.stats.records += Math.min(BATCH, pending.length);
        await handle(pending.slice(0, BATCH));
        pending = pending.slice(BATCH);
      }
    };
    for await (const chunk of chunks) {
      if (this.stopped) return;
      if (lines) {
        pending.push(...await lines.push(chunk, false));
        await flush(false);
        continue;
      }
      head.push(chunk);
      headBytes += chunk.length;
      if (shape === undefined) shape = shapeOf(head.length === 1 ? head[0]! : Buffer.concat(head, headBytes), false, this.format);
      if (shape === 'lines') {
        lines = lineRecords();
        pending.push(...await lines.push(Buffer.concat(head, headBytes), false));
        head = [];
        await flush(false);
      }
    }
    if (lines) {
      pending.push(...await lines.push(Buffer.alloc(0), true));
      await flush(true);
      return;
    }
    pending = splitRecords(Buffer.concat(head, headBytes), name, this.format);
    await flush(true);
  }

  async stop(): Promise<void> {
    this.stopped = true;
  }
}
