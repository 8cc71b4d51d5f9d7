import type { Alert } from '../alerts/alert.js';

export interface AlertSink {
  readonly name: string;
  /** Resolves once the alerts are durably handed over; offsets are committed only after that. */
  publish(alerts: readonly Alert[]): Promise<void>;
  close(): Promise<void>;
}
