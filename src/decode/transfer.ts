import { AuditwatchError, DecodeError, type ErrorCode } from '../errors.js';
import { OUTCOMES, PRINCIPAL_KINDS, VERBS, type AuditEvent } from '../events/audit-event.js';
import type { Decoded } from './index.js';

/**
 * Decode results as bytes, for the hop from a decode thread to the pipeline's thread (see DecodeAhead).
 * Structured clone costs about 2.7 µs per event here (serialize and deserialize) and canonical Avro about 3 µs:
 * more than half of what decoding the JSON costs. This format is a fraction of that, because the fields that repeat
 * (principal, action, resource type, environment, source, change ticket) cross once per thread and then as an index.
 * Writer and reader keep the same table: one reader per writer, reading its pieces in the order they were written.
 */

/** Interned strings kept before both sides start a new table: the ids that repeat are a few thousand. */
const MAX_TABLE = 100_000;
const EVENTS = 0;
const ERROR = 1;

/** One record of a piece: where its line lies in the piece, and what decoding it gave. */
export interface DecodedLine {
  /** Line number within the piece, from 1. */
  line: number;
  start: number;
  end: number;
  decoded: Decoded;
}

export class DecodedWriter {
  /**
   * One scratch buffer, kept from piece to piece; each piece leaves as an exact-size copy of what was written. A
   * fresh buffer of the largest piece's size (1 MiB and more) for every piece, handed over whole, was memory outside
   * the heap that brought on both threads' collectors.
   */
  private buf = Buffer.allocUnsafeSlow(1 << 16);
  private at = 0;
  private readonly table = new Map<string, number>();

  constructor(private readonly maxTable = MAX_TABLE) {}

  /** Starts a piece of `lines` lines. */
  begin(lines: number): void {
    this.at = 0;
    const reset = this.table.size >= this.maxTable;
    if (reset) this.table.clear();
    this.byte(reset ? 1 : 0);
    this.uint(lines);
  }

  record(r: DecodedLine): void {
    this.uint(r.line);
    this.uint(r.start);
    this.uint(r.end);
    const d = r.decoded;
    if ('error' in d) {
      this.byte(ERROR);
      this.str(d.error.code);
      this.str(d.error.message);
      this.byte(d.error.retriable ? 1 : 0);
      return;
    }
    this.byte(EVENTS);
    this.uint(d.ignored);
    this.uint(d.events.length);
    for (const e of d.events) this.event(e);
  }

  /** The piece's bytes, on an ArrayBuffer of their own and of their size (to transfer, not copy). */
  finish(): Buffer {
    const piece = Buffer.allocUnsafeSlow(this.at);
    this.buf.copy(piece, 0, 0, this.at);
    return piece;
  }

  private event(e: AuditEvent): void {
    // verb (3 bits), principal kind (2), outcome (1), has a change ticket (1), has bytesOut (1).
    this.byte(VERBS.indexOf(e.verb) | (PRINCIPAL_KINDS.indexOf(e.principal.kind) << 3) | (OUTCOMES.indexOf(e.outcome) << 5) | (e.changeTicket === null ? 0 : 0x40)
      | (e.bytesOut === undefined ? 0 : 0x80));
    this.ensure(8);
    this.buf.writeDoubleLE(e.time, this.at);
    this.at += 8;
    this.uint(e.objectCount);
    this.str(e.id);
    this.interned(e.principal.id);
    this.interned(e.action);
    this.interned(e.resource.type);
    this.str(e.resource.id);
    this.interned(e.environment);
    this.interned(e.source);
    if (e.changeTicket !== null) this.interned(e.changeTicket);
    if (e.bytesOut !== undefined) this.uint(e.bytesOut);
  }

  private ensure(n: number): void {
    if (this.at + n <= this.buf.length) return;
    const bigger = Buffer.allocUnsafeSlow(Math.max(this.buf.length * 2, this.at + n));
    this.buf.copy(bigger, 0, 0, this.at);
    this.buf = bigger;
  }

  private byte(b: number): void {
    this.ensure(1);
    this.buf[this.at++] = b;
  }

  /** Unsigned LEB128, for counts and offsets below 2^53. */
  private uint(n: number): void {
    this.ensure(8);
    while (n >= 0x80) {
      this.buf[this.at++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    this.buf[this.at++] = n;
  }

  /**
   * A 4-byte length, then UTF-8. Ids are short and ASCII: those are copied here, byte by byte, which is cheaper
   * than a call into Buffer.write for each; anything else is left to it.
   */
  private str(s: string): void {
    this.ensure(4 + s.length * 3);
    const buf = this.buf;
    const at = this.at + 4;
    let i = 0;
    if (s.length <= 64) for (let c; i < s.length && (c = s.charCodeAt(i)) < 0x80; i++) buf[at + i] = c;
    const n = i === s.length ? i : buf.write(s, at, 'utf8');
    buf.writeUInt32LE(n, this.at);
    this.at = at + n;
  }

  /** A string seen before goes as its index + 1; a new one as 0 and the string. */
  private interned(s: string): void {
    const i = this.table.get(s);
    if (i !== undefined) return this.uint(i + 1);
    this.uint(0);
    this.str(s);
    this.table.set(s, this.table.size);
  }
}

export class DecodedReader {
  private table: string[] = [];
  private buf: Buffer = Buffer.alloc(0);
  private at = 0;

  /** A piece from the writer: its line count and its records. Pieces must be read in the order written. */
  read(piece: Buffer): { lines: number; records: DecodedLine[] } {
    this.buf = piece;
    this.at = 0;
    if (this.byte() === 1) this.table = [];
    const lines = this.uint();
    const records: DecodedLine[] = [];
    while (this.at < piece.length) {
      const line = this.uint();
      const start = this.uint();
      const end = this.uint();
      records.push({ line, start, end, decoded: this.byte() === ERROR ? { error: this.error() } : this.events() });
    }
    return { lines, records };
  }

  private error(): AuditwatchError {
    const code = this.str() as ErrorCode;
    const message = this.str();
    const retriable = this.byte() === 1;
    // The cause stays behind in the decode thread; the code and message are what dead letters carry.
    return code.startsWith('DECODE_') ? new DecodeError(code as Extract<ErrorCode, `DECODE_${string}`>, message) : new AuditwatchError(code, message, { retriable });
  }

  private events(): { events: AuditEvent[]; ignored: number } {
    const ignored = this.uint();
    const events: AuditEvent[] = new Array(this.uint());
    for (let i = 0; i < events.length; i++) events[i] = this.event();
    return { events, ignored };
  }

  private event(): AuditEvent {
    const flags = this.byte();
    const time = this.buf.readDoubleLE(this.at);
    this.at += 8;
    const objectCount = this.uint();
    const id = this.str();
    const principalId = this.interned();
    const action = this.interned();
    const resourceType = this.interned();
    const resourceId = this.str();
    const environment = this.interned();
    const source = this.interned();
    const changeTicket = flags & 0x40 ? this.interned() : null;
    // The field order of the decoders' own objects, so that detectors see one object shape from either path.
    const event: AuditEvent = {
      id, time, principal: { id: principalId, kind: PRINCIPAL_KINDS[(flags >> 3) & 3]! }, action, verb: VERBS[flags & 7]!,
      resource: { type: resourceType, id: resourceId }, environment, source, outcome: OUTCOMES[(flags >> 5) & 1]!, changeTicket, objectCount,
    };
    if (flags & 0x80) event.bytesOut = this.uint();
    return event;
  }

  private byte(): number {
    if (this.at >= this.buf.length) throw new Error('decoded piece: truncated');
    return this.buf[this.at++]!;
  }

  private uint(): number {
    let n = 0;
    let scale = 1;
    for (let b = this.byte(); ; b = this.byte()) {
      n += (b & 0x7f) * scale;
      if (b < 0x80) return n;
      scale *= 0x80;
    }
  }

  private str(): string {
    const n = this.buf.readUInt32LE(this.at);
    const s = this.buf.toString('utf8', this.at + 4, this.at + 4 + n);
    this.at += 4 + n;
    return s;
  }

  private interned(): string {
    const i = this.uint();
    if (i > 0) return this.table[i - 1]!;
    const s = this.str();
    this.table.push(s);
    return s;
  }
}
