import { startAdmissionServer } from '../../actions/admission.js';
import { controlKeys } from '../../actions/control-publisher.js';
import { reportRejections } from '../../actions/control-watch.js';
import { WriteGate } from '../../actions/write-gate.js';
import { decodeContextFrom } from '../../decode/context.js';
import { ConfigError } from '../../errors.js';
import { createKafka } from '../../kafka/client.js';
import { createLogger } from '../../log.js';
import { Metrics } from '../../metrics/metrics.js';
import { startMetricsServer } from '../../metrics/server.js';
import { configFrom, untilSignal } from '../common.js';
import { parsePort } from './gate.js';

export interface AdmissionArgs {
  config?: string;
  port?: string;
}

/** `auditwatch admission`: the validating admission webhook, until SIGTERM or SIGINT. */
export async function admissionCommand(args: AdmissionArgs): Promise<number> {
  const config = configFrom(args, args.port === undefined ? {} : { AUDITWATCH__ADMISSION_WEBHOOK__PORT: String(parsePort('--port', args.port)) });
  const { certFile, keyFile } = config.admissionWebhook;
  const missing = [!certFile && 'config: admissionWebhook.certFile: required (the PEM certificate the API server trusts)', !keyFile && 'config: admissionWebhook.keyFile: required (its private key)'].filter((l): l is string => !!l);
  if (missing.length) throw new ConfigError(missing);
  const { keys } = controlKeys(config);
  const log = createLogger(config.log.level).child({ component: 'admission' });
  const metrics = new Metrics({ defaultMetrics: true });
  const gate = new WriteGate(createKafka(config.kafka, log), config.freeze.controlTopic, { keys, onReject: reportRejections(metrics, log) });
  const server = await startAdmissionServer({
    host: config.admissionWebhook.host, port: config.admissionWebhook.port, certFile: certFile!, keyFile: keyFile!,
    check: (e, p, t) => gate.check(e, p, t), ready: () => gate.ready, ctx: decodeContextFrom(config),
    onDecision: (v, req) => {
      metrics.admissionDecisions.inc({ allowed: String(v.allowed) });
      if (!v.allowed) log.warn({ uid: req.uid, user: req.userInfo?.username, operation: req.operation, namespace: req.namespace, message: v.status?.message }, 'admission denied');
    },
  });
  const probes = config.metrics.enabled ? await startMetricsServer(() => metrics.registry.metrics(), config.metrics.host, config.metrics.port, () => gate.ready) : undefined;
  log.info({ host: config.admissionWebhook.host, port: server.port }, 'admission webhook listening (TLS); reading the control topic');
  // Said once it is serving (a config that does not load is one line, nothing else), as `auditwatch gate` says it.
  if (keys.size === 0) log.warn('freeze.trustedKeys is empty: every control record will be refused, so nothing is ever denied here');
  const done = untilSignal();
  await Promise.race([gate.start().then(() => log.info({ active: gate.active().length }, 'admission webhook ready')), done]);
  await done;
  await server.stop();
  probes?.server.close();
  await gate.stop();
  return 0;
}
