import type { Alert } from '../alerts/alert.js';
import type { OcsfRecord } from './ocsf.js';

export interface AlertSink {
  readonly name: string;
  /** Resolves once the alerts are durably handed over; offsets are committed only after that. */
  publish(alerts: readonly Alert[]): Promise<void>;
  /** OCSF sinks only: records that are not alerts (a Remediation Activity per freeze and lift). */
  publishOcsf?(records: readonly OcsfRecord[]): Promise<void>;
  close(): Promise<void>;
}
