import type { Kafka } from 'kafkajs';
import { approvedChangesFor } from '../actions/change-feed.js';
import { controlKeys } from '../actions/control-publisher.js';
import type { Alert } from '../alerts/alert.js';
import { readModel } from '../baseline/model.js';
import type { Config, InputFormat } from '../config/schema.js';
import { UsageError } from '../errors.js';
import type { Logger } from '../log.js';
import { Metrics } from '../metrics/metrics.js';
import { loadAutoencoder } from '../model/autoencoder.js';
import { buildDetectionPipeline } from '../pipeline/assemble.js';
import { requireEvents, shadowFreezes, warnRejected, windowSource, type WindowInput } from '../pipeline/window.js';
import { taskRouteFor } from '../runtime/topology.js';
import type { AlertSink } from '../sinks/sink.js';
import { ReportRecorder } from './recorder.js';
import { buildReport, type IncidentReport } from './report.js';

/**
 * Replays a window with the live detection code (freezes shadowed) and builds the report of its incident: the one
 * asked for, or the first critical one. `auditwatch report` and the console's report links both come here.
 */
export async function generateReport(config: Config, input: WindowInput, format: InputFormat, kafka: Kafka | undefined, log: Logger, alertId?: string): Promise<IncidentReport> {
  const shadowed = shadowFreezes(config);
  const alerts: Alert[] = [];
  const collector: AlertSink = { name: 'collect', publish: async (a) => void alerts.push(...a), close: async () => {} };
  let recorder: ReportRecorder | undefined;
  const changes = kafka ? await approvedChangesFor(kafka, shadowed.changes.topic, controlKeys(shadowed).keys) : undefined;
  const { pipeline } = buildDetectionPipeline({
    config: shadowed, model: readModel(shadowed.modelDir), autoencoder: await loadAutoencoder(shadowed.modelDir), metrics: new Metrics(), log, sinks: [collector], changes,
    wrap: (detection) => (recorder = new ReportRecorder(detection)),
    onFinding: (f) => recorder!.finding(f),
    tasks: await taskRouteFor(input, shadowed, kafka),
  });
  const source = windowSource(input, format, kafka, shadowed);
  await source.run(pipeline.handle);
  warnRejected(log, format, pipeline);
  requireEvents(input, format, source, pipeline);
  try {
    return buildReport(recorder!, alerts, input.kind === 'file' ? input.path : `topic ${input.topic}`, alertId);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}
