import type { Alert } from '../alerts/alert.js';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics/metrics.js';
import type { AlertSink } from '../sinks/sink.js';
import type { ControlRejection } from './control-log.js';
import { controlTamperAlert } from './tamper-alert.js';

/**
 * What every long-running reader of the control topic does with a record it refused: count it by reason, log it
 * with its partition and offset, and, for tampering, publish one critical control-tamper alert to the sinks.
 */
export function reportRejections(metrics: Metrics, log: Logger, sinks: readonly AlertSink[] = []): (r: ControlRejection) => void {
  return (r) => {
    metrics.controlRecordsRejected.inc({ reason: r.reason });
    const fields = { reason: r.reason, topic: r.topic, partition: r.partition, offset: r.offset, key: r.messageKey, keyId: r.keyId, by: r.by, detail: r.detail };
    if (!r.tamper) {
      log.warn(fields, 'control record refused');
      return;
    }
    log.error(fields, 'control record refused: tampering suspected');
    publishAlert(sinks, log)(controlTamperAlert(r));
  };
}

/** Publishes an alert of auditwatch's own (control-tamper, freeze-failed) to every sink; a sink's failure is logged. */
export function publishAlert(sinks: readonly AlertSink[], log: Logger): (alert: Alert) => void {
  return (alert) => {
    for (const sink of sinks) {
      sink.publish([alert]).catch((err: Error) => log.error({ sink: sink.name, alertId: alert.id, detector: alert.detector, err: err.message }, 'alert could not be published'));
    }
  };
}
