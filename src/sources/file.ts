import { createReadStream, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { InputFormat } from '../config/schema.js';
import type { Source, SourceRecord } from './source.js';

const BATCH = 2000;

function firstByte(buf: Buffer): number | undefined {
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i]!;
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return c;
  }
  return undefined;
}

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

/** Where the line from `start` ends (its newline, or the end of a complete buffer); -1 if it is not all there yet. */
function lineEnd(buf: Buffer, start: number, complete: boolean): number {
  const end = buf.indexOf(0x0a, start);
  return end >= 0 ? end : complete ? buf.length : -1;
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

/** Lines to records across chunk boundaries; line numbers stand in for offsets in dead letters. */
class LineSplitter {
  private rest: Buffer = Buffer.alloc(0);
  private lineNo = 0;

  constructor(private readonly name: string, private readonly format: InputFormat) {}

  push(chunk: Buffer, last: boolean): SourceRecord[] {
    const buf = this.rest.length ? Buffer.concat([this.rest, chunk]) : chunk;
    const records: SourceRecord[] = [];
    let start = 0;
    for (let end; start < buf.length && (end = lineEnd(buf, start, last)) >= 0; start = end + 1) {
      this.lineNo++;
      const line = buf.subarray(start, end);
      if (firstByte(line) !== undefined) records.push({ topic: this.name, partition: 0, offset: String(this.lineNo), key: null, value: line, format: this.format });
    }
    // The unfinished line is copied, so that the chunk it came from can be collected with the lines before it.
    this.rest = Buffer.from(buf.subarray(Math.min(start, buf.length)));
    return records;
  }
}

/** Read in pieces of this size: a replay of a file larger than memory streams through. */
const CHUNK_BYTES = 8 * 1024 * 1024;

/** A file, a directory of files (sorted by name), or stdin ("-"). Ends when all is read. */
export class FileSource implements Source {
  private stopped = false;

  constructor(private readonly path: string, private readonly format: InputFormat, private readonly chunkBytes = CHUNK_BYTES) {}

  async run(handle: (records: SourceRecord[]) => Promise<void>): Promise<void> {
    const inputs: Array<{ name: string; chunks: () => AsyncIterable<Buffer> }> = [];
    const fromFile = (file: string) => () => createReadStream(file, { highWaterMark: this.chunkBytes }) as AsyncIterable<Buffer>;
    if (this.path === '-') inputs.push({ name: 'stdin', chunks: () => process.stdin as AsyncIterable<Buffer> });
    else if (statSync(this.path).isDirectory()) {
      for (const f of readdirSync(this.path).sort()) {
        const full = join(this.path, f);
        if (statSync(full).isFile()) inputs.push({ name: full, chunks: fromFile(full) });
      }
    } else inputs.push({ name: this.path, chunks: fromFile(this.path) });

    for (const input of inputs) {
      if (this.stopped) break;
      await this.read(input.name, input.chunks(), handle);
    }
  }

  /**
   * One input: its head decides its shape; a one-record file is read whole, lines go to the pipeline a batch at a
   * time as the chunks arrive.
   */
  private async read(name: string, chunks: AsyncIterable<Buffer>, handle: (records: SourceRecord[]) => Promise<void>): Promise<void> {
    let head: Buffer[] = [];
    let headBytes = 0;
    let shape: Shape | undefined;
    let lines: LineSplitter | undefined;
    let pending: SourceRecord[] = [];
    const flush = async (all: boolean) => {
      while (pending.length >= BATCH || (all && pending.length > 0)) {
        if (this.stopped) return;
        await handle(pending.slice(0, BATCH));
        pending = pending.slice(BATCH);
      }
    };
    for await (const chunk of chunks) {
      if (this.stopped) return;
      if (lines) {
        pending.push(...lines.push(chunk, false));
        await flush(false);
        continue;
      }
      head.push(chunk);
      headBytes += chunk.length;
      if (shape === undefined) shape = shapeOf(head.length === 1 ? head[0]! : Buffer.concat(head, headBytes), false, this.format);
      if (shape === 'lines') {
        lines = new LineSplitter(name, this.format);
        pending.push(...lines.push(Buffer.concat(head, headBytes), false));
        head = [];
        await flush(false);
      }
    }
    if (lines) {
      pending.push(...lines.push(Buffer.alloc(0), true));
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
