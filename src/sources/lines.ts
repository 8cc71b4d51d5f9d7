import type { InputFormat } from '../config/schema.js';
import type { SourceRecord } from './source.js';

/** The first byte that is not whitespace; undefined for a blank buffer. */
export function firstByte(buf: Buffer): number | undefined {
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i]!;
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return c;
  }
  return undefined;
}

/** Where the line from `start` ends (its newline, or the end of a complete buffer); -1 if it is not all there yet. */
export function lineEnd(buf: Buffer, start: number, complete: boolean): number {
  const end = buf.indexOf(0x0a, start);
  return end >= 0 ? end : complete ? buf.length : -1;
}

/** Lines to records across chunk boundaries; line numbers stand in for offsets in dead letters. */
export class LineSplitter implements LineRecords {
  private rest: Buffer = Buffer.alloc(0);
  private lineNo = 0;

  constructor(private readonly name: string, private readonly format: InputFormat) {}

  /** Lines read so far, empty ones included. */
  get count(): number {
    return this.lineNo;
  }

  push(chunk: Buffer, last: boolean): SourceRecord[] {
    const records: SourceRecord[] = [];
    this.forEachLine(chunk, last, (lineNo, line) => {
      records.push({ topic: this.name, partition: 0, offset: String(lineNo), key: null, value: line, format: this.format });
    });
    return records;
  }

  /** Each non-empty line completed by `chunk` (every line left, if it is the last), with its line number. */
  forEachLine(chunk: Buffer, last: boolean, visit: (lineNo: number, line: Buffer) => void): void {
    const buf = this.rest.length ? Buffer.concat([this.rest, chunk]) : chunk;
    let start = 0;
    for (let end; start < buf.length && (end = lineEnd(buf, start, last)) >= 0; start = end + 1) {
      this.lineNo++;
      const line = buf.subarray(start, end);
      if (firstByte(line) !== undefined) visit(this.lineNo, line);
    }
    // The unfinished line is copied, so that the chunk it came from can be collected with the lines before it.
    this.rest = Buffer.from(buf.subarray(Math.min(start, buf.length)));
  }
}

/** Lines of one input as records, in order: split and left to the pipeline to decode (LineSplitter), or decoded ahead. */
export interface LineRecords {
  push(chunk: Buffer, last: boolean): SourceRecord[] | Promise<SourceRecord[]>;
}
