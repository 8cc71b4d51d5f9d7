import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { PROJECT_ROOT } from '../../src/kafka/local-broker.js';
import { OCSF_CLASSES } from '../../src/sinks/ocsf.js';

const ajv = new Ajv({ allErrors: true, strict: false });
const load = (name: string): ValidateFunction => ajv.compile(JSON.parse(readFileSync(join(PROJECT_ROOT, 'schemas', 'ocsf', `${name}.schema.json`), 'utf8')));
const BY_CLASS: Record<number, ValidateFunction> = { 2004: load(OCSF_CLASSES.detectionFinding), 7001: load(OCSF_CLASSES.remediationActivity) };

const describeError = (e: ErrorObject) => `${e.instancePath || '/'} ${e.message}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`;

/**
 * What is wrong with a record against the JSON Schema of its class (generated from the published OCSF schema by
 * scripts/ocsf-json-schema.ts); [] when it is valid. A class auditwatch does not write is itself a problem.
 */
export function ocsfProblems(record: unknown): string[] {
  const classUid = (record as { class_uid?: unknown } | null)?.class_uid;
  const validate = typeof classUid === 'number' ? BY_CLASS[classUid] : undefined;
  if (!validate) return [`class_uid ${String(classUid)} is not one auditwatch writes`];
  return validate(record) ? [] : (validate.errors ?? []).map(describeError);
}
