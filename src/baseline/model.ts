import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AuditwatchError } from '../errors.js';

export const BASELINE_FILE = 'baselines.json';
export const BASELINE_FORMAT = 2;

export interface EntityBaseline {
  /** Largest destructive-object sum seen in each window (same order as `windowsMs`). */
  peaks: number[];
  /**
   * The same per hour of the day (UTC): hourly[w][h]. Present for entities that deleted, in models trained on at
   * least MIN_SEASONAL_DAYS days; a cleanup that runs at 01:00 is then normal at 01:00 and not at noon.
   */
  hourly?: number[][];
  events: number;
  destructiveEvents: number;
  /** Calls that switched a protection off (src/baseline/entity.ts): routine for it here, when there are any. */
  protectionsOff?: number;
}

/** What a principal did in one environment in the training history, apart from its deletes. */
export interface PrincipalBaseline {
  /** Bit h set: it made calls between h:00 and h:59 UTC. */
  hours: number;
  /** Most reads (List*, Describe*, Get*) in any READ_MINUTES, and most failed calls in any FAILURE_MINUTES. */
  readPeak: number;
  failurePeak: number;
}

export interface PopulationBaseline {
  /** The configured quantile of the peaks of the entities (in one environment, on one resource type) that ever deleted. */
  peaks: number[];
  entities: number;
}

/** What `auditwatch train` writes and detection reads: everything learned, nothing wall-clock. */
export interface BaselineModel {
  format: number;
  windowsMs: number[];
  populationQuantile: number;
  eventCount: number;
  timeRange: { from: number; to: number } | null;
  entities: Record<string, EntityBaseline>;
  /**
   * Keyed by populationKey(environment, resourceType[, kind]): what principals with no history here are compared
   * with, their peer group of the same kind first (when it has MIN_PEERS entities), else everyone.
   */
  population: Record<string, PopulationBaseline>;
  /** Keyed by principalKey(principal, environment); absent in models trained before it was learned. */
  principals?: Record<string, PrincipalBaseline>;
  /**
   * Data-read volume (src/baseline/entity.ts, DATA_READS), learned as destruction is: per entity (`destructiveEvents`
   * counts its data reads there) and per population. Absent in models trained before reads were scored.
   */
  reads?: { entities: Record<string, EntityBaseline>; population: Record<string, PopulationBaseline> };
  /** The same in bytes, from the data reads whose records say how much they returned. Absent in older models. */
  readBytes?: { entities: Record<string, EntityBaseline>; population: Record<string, PopulationBaseline> };
}

/**
 * A population: everyone who deleted this resource type in this environment, or, with `kind`, only the principals
 * of that kind (human or service): the peer group an entity with no history is compared with first.
 */
export function populationKey(environment: string, resourceType: string, kind?: string): string {
  return kind ? `${environment}\u0001${resourceType}\u0001${kind}` : `${environment}\u0001${resourceType}`;
}

/** A peer group smaller than this says little; the whole population is used instead. */
export const MIN_PEERS = 3;

/** Days of history from which per-hour peaks are trusted (below that, the all-day peak is used). */
export const MIN_SEASONAL_DAYS = 3;

export function emptyModel(windowsMs: number[], populationQuantile: number): BaselineModel {
  return { format: BASELINE_FORMAT, windowsMs, populationQuantile, eventCount: 0, timeRange: null, entities: {}, population: {} };
}

export function writeModel(dir: string, model: BaselineModel): string {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, BASELINE_FILE);
  // Keys sorted so the same training data always writes the same bytes.
  const byKey = <T>(r: Record<string, T>) => Object.fromEntries(Object.entries(r).sort(([a], [b]) => (a < b ? -1 : 1)));
  const sorted = {
    ...model, entities: byKey(model.entities), ...(model.principals ? { principals: byKey(model.principals) } : {}),
    ...(model.reads ? { reads: { entities: byKey(model.reads.entities), population: model.reads.population } } : {}),
    ...(model.readBytes ? { readBytes: { entities: byKey(model.readBytes.entities), population: model.readBytes.population } } : {}),
  };
  writeFileSync(`${path}.tmp`, `${JSON.stringify(sorted, null, 1)}\n`);
  renameSync(`${path}.tmp`, path);
  return path;
}

export function readModel(dir: string): BaselineModel {
  const path = join(dir, BASELINE_FILE);
  let model: BaselineModel;
  try {
    model = JSON.parse(readFileSync(path, 'utf8')) as BaselineModel;
  } catch (err) {
    throw new AuditwatchError('MODEL_INVALID', `model: cannot read ${path}: ${(err as Error).message} (run \`auditwatch train\` first)`, { cause: err });
  }
  if (model.format !== BASELINE_FORMAT || !Array.isArray(model.windowsMs) || typeof model.entities !== 'object') {
    throw new AuditwatchError('MODEL_INVALID', `model: ${path} is not a format-${BASELINE_FORMAT} baseline model`);
  }
  return model;
}
