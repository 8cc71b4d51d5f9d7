import type { Alert } from '../../alerts/alert.js';
import { SEVERITY_RANK } from '../../detectors/detector.js';
import type { OutputSpec } from '../../config/schema.js';
import type { OcsfRecord } from '../ocsf.js';
import type { RetryPolicy } from '../http/post.js';
import { globToRegExp } from '../../util/glob.js';

/** An alert output delivered from the alerts topic (src/sinks/delivery.ts): it says which alerts it takes, and sends one. */
export interface AlertOutput {
  readonly name: string;
  readonly type: OutputSpec['type'];
  /** Alerts in flight at once. */
  readonly concurrency: number;
  accepts(alert: Alert): boolean;
  /** Resolves once the endpoint accepted the alert; throws DELIVERY_FAILED after the configured attempts. */
  deliver(alert: Alert, hooks: RetryHooks): Promise<{ attempts: number }>;
  /** OCSF outputs: a freeze or a lift, as a Remediation Activity (read from freeze.auditTopic). */
  deliverRemediation?(record: OcsfRecord, hooks: RetryHooks): Promise<{ attempts: number }>;
}

/** What the delivery loop hands one delivery's retries: told of each retry, and a signal that the process is stopping. */
export type RetryHooks = Pick<RetryPolicy, 'onRetry' | 'signal'>;

/** The spec's `minSeverity` and `match`, as one test. */
export function alertFilter(spec: OutputSpec): (alert: Alert) => boolean {
  const min = SEVERITY_RANK[spec.minSeverity];
  const types = spec.match.resourceTypes?.map(globToRegExp);
  return (a) => SEVERITY_RANK[a.severity] >= min &&
    (!spec.match.detectors || spec.match.detectors.includes(a.detector)) &&
    (!spec.match.environments || spec.match.environments.includes(a.environment)) &&
    (!types || types.some((re) => re.test(a.resourceType)));
}

export const outputName = (spec: OutputSpec): string => spec.name ?? spec.type;

/** The retry settings of a spec, for postWithRetries. */
export function retrySettings(spec: OutputSpec) {
  return { timeout: spec.timeout, retries: spec.retries, backoff: spec.backoff, maxBackoff: 60_000 };
}
