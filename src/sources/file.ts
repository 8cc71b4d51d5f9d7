import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { InputFormat } from '../config/schema.js';
import type { Source, SourceRecord } from './source.js';

const BATCH = 2000;

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks);
}

function firstByte(buf: Buffer): number | undefined {
  for (let i = 0; i < buf.length; i++) {
    const c = buf[i]!;
    if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return c;
  }
  return undefined;
}

/**
 * Splits a file into records: a JSON array or a pretty-printed document (a CloudTrail log file) is one record;
 * otherwise each non-empty line is one (NDJSON, CSV). Line numbers stand in for offsets in dead letters.
 */
export function splitRecords(buf: Buffer, name: string, format: InputFormat): SourceRecord[] {
  const whole = (): SourceRecord[] => [{ topic: name, partition: 0, offset: '1', key: null, value: buf, format }];
  if (buf.length === 0) return [];
  const first = firstByte(buf);
  if (first === undefined) return [];
  if (format === 'canonical-avro') return whole();
  const lines: SourceRecord[] = [];
  let start = 0;
  let lineNo = 0;
  while (start < buf.length) {
    let end = buf.indexOf(0x0a, start);
    if (end < 0) end = buf.length;
    lineNo++;
    const line = buf.subarray(start, end);
    if (firstByte(line) !== undefined) lines.push({ topic: name, partition: 0, offset: String(lineNo), key: null, value: line, format });
    start = end + 1;
  }
  if (format === 'k8s-csv') return lines;
  // One JSON document over several lines: its first line alone is not valid JSON.
  if (first === 0x5b /* [ */ || lines.length === 1) return whole();
  try {
    JSON.parse(lines[0]!.value!.toString('utf8'));
    return lines;
  } catch {
    return whole();
  }
}

/** A file, a directory of files (sorted by name), or stdin ("-"). Ends when all is read. */
export class FileSource implements Source {
  private stopped = false;

  constructor(private readonly path: string, private readonly format: InputFormat) {}

  async run(handle: (records: SourceRecord[]) => Promise<void>): Promise<void> {
    const inputs: Array<{ name: string; read: () => Promise<Buffer> }> = [];
    if (this.path === '-') inputs.push({ name: 'stdin', read: readStdin });
    else if (statSync(this.path).isDirectory()) {
      for (const f of readdirSync(this.path).sort()) {
        const full = join(this.path, f);
        if (statSync(full).isFile()) inputs.push({ name: full, read: async () => readFileSync(full) });
      }
    } else inputs.push({ name: this.path, read: async () => readFileSync(this.path) });

    for (const input of inputs) {
      const records = splitRecords(await input.read(), input.name, this.format);
      for (let i = 0; i < records.length && !this.stopped; i += BATCH) await handle(records.slice(i, i + BATCH));
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
  }
}
