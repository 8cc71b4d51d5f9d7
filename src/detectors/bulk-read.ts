import type { BaselineModel } from '../baseline/model.js';
import type { Criticality } from '../baseline/criticality.js';
import type { BulkReadSpec } from '../config/schema.js';
import type { AuditEvent } from '../events/audit-event.js';
import type { Changelogged, ComposedState } from '../state/changelogged.js';
import { SEVERITY_RANK, type Detector, type Finding, type Reconfigurable } from './detector.js';
import { READ, READ_BYTES, VolumeDetector } from './volume.js';

export interface BulkReadOptions {
  spec: BulkReadSpec & { windows: number[] };
  model: BaselineModel;
  criticalEnvironments: readonly string[];
  criticality: Criticality;
  runGapMs: number;
}

/** The bytes measure's spec: minBytes where the objects measure has minObjects, in the detector and its overrides. */
function inBytes<S extends BulkReadSpec>(spec: S): S {
  return {
    ...spec,
    minObjects: spec.minBytes,
    overrides: spec.overrides.map(({ minBytes, minObjects: _objects, ...o }) => (minBytes === undefined ? o : { ...o, minObjects: minBytes })),
  };
}

/**
 * Data access: objects read and, where the records say how much a read returned, bytes read, each against its own
 * learned peaks. One finding per event, the weightier of the two: both describe the same principal reading the same
 * data store, so they are one incident, whichever crossed.
 */
export class BulkReadDetector implements Detector, Reconfigurable<BulkReadSpec>, ComposedState {
  readonly name = 'bulk-read';
  private readonly objects: VolumeDetector;
  private readonly bytes: VolumeDetector;

  constructor(opts: BulkReadOptions) {
    this.objects = new VolumeDetector({ ...opts, measure: READ });
    this.bytes = new VolumeDetector({ ...opts, spec: inBytes(opts.spec), measure: READ_BYTES });
  }

  observe(e: AuditEvent): Finding | null {
    const a = this.objects.observe(e);
    // Most reads carry no bytes (or are not data reads): the second measure returns at once.
    const b = this.bytes.observe(e);
    if (!a || !b) return a ?? b;
    if (SEVERITY_RANK[b.severity] !== SEVERITY_RANK[a.severity]) return SEVERITY_RANK[b.severity] > SEVERITY_RANK[a.severity] ? b : a;
    return b.score > a.score ? b : a;
  }

  /** Each measure keeps its own changelog entries (objects under the name bulk-read always had). */
  stateParts(): Changelogged[] {
    return [this.objects, this.bytes];
  }

  checkReconfigure(spec: BulkReadSpec): string | null {
    return this.objects.checkReconfigure(spec) ?? this.bytes.checkReconfigure(inBytes(spec));
  }

  reconfigure(spec: BulkReadSpec, criticalEnvironments: readonly string[]): void {
    this.objects.reconfigure(spec, criticalEnvironments);
    this.bytes.reconfigure(inBytes(spec), criticalEnvironments);
  }

  stats(): { tracked: number; evicted: number } {
    const a = this.objects.stats();
    const b = this.bytes.stats();
    return { tracked: a.tracked + b.tracked, evicted: a.evicted + b.evicted };
  }
}
