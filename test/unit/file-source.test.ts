import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { InputFormat } from '../../src/config/schema.js';
import { FileSource } from '../../src/sources/file.js';

/** How a file becomes records, written out plainly on the whole buffer: what reading it in chunks must give. */
function oracle(buf: Buffer, format: InputFormat): Array<[string, string]> {
  const text = buf.toString('latin1');
  if (text.trim() === '') return [];
  const whole: Array<[string, string]> = [['1', text]];
  if (format === 'canonical-avro') return whole;
  const lines = text.split('\n').map((l, i) => [String(i + 1), l] as [string, string]).filter(([, l]) => l.trim() !== '');
  if (format === 'k8s-csv') return lines;
  if (text.trimStart().startsWith('[') || lines.length === 1) return whole;
  try {
    JSON.parse(lines[0]![1]);
    return lines;
  } catch {
    return whole;
  }
}

async function read(path: string, format: InputFormat, chunkBytes: number): Promise<{ records: Array<[string, string]>; batches: number[] }> {
  const records: Array<[string, string]> = [];
  const batches: number[] = [];
  await new FileSource(path, format, { chunkBytes }).run(async (batch) => {
    batches.push(batch.length);
    for (const r of batch) records.push([r.offset, r.value!.toString('latin1')]);
  });
  return { records, batches };
}

describe('reading a file in chunks', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aw-file-'));
  const line = fc.oneof(
    fc.constant(''), fc.constant('  \r'), fc.constant('{'), fc.constant('}'), fc.constant('['),
    fc.json({ maxDepth: 2 }).map((j) => j.replace(/\n/g, ' ')), fc.string({ maxLength: 40 }).map((t) => t.replace(/\n/g, ' ')),
  );

  it('gives the records the whole file gives, wherever the chunks break it', async () => {
    let n = 0;
    await fc.assert(fc.asyncProperty(fc.array(line, { maxLength: 12 }), fc.boolean(), fc.integer({ min: 1, max: 64 }), fc.constantFrom<InputFormat>('auto', 'cloudtrail', 'k8s-csv'),
      async (lines, trailingNewline, chunkBytes, format) => {
        const buf = Buffer.from(lines.join('\n') + (trailingNewline ? '\n' : ''), 'latin1');
        const path = join(dir, `f${n++}`);
        writeFileSync(path, buf);
        expect((await read(path, format, chunkBytes)).records).toEqual(oracle(buf, format));
      }), { numRuns: 400 });
  });

  it('hands lines over in batches of 2000 as the chunks arrive, not after the whole file', async () => {
    const path = join(dir, 'big.ndjson');
    writeFileSync(path, `${Array.from({ length: 4500 }, (_, i) => JSON.stringify({ i })).join('\n')}\n`);
    const { records, batches } = await read(path, 'auto', 1000);
    expect(batches).toEqual([2000, 2000, 500]);
    expect(records.at(-1)).toEqual(['4500', '{"i":4499}']);
  });
});
