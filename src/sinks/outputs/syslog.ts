import { Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { hostname } from 'node:os';
import type { Alert } from '../../alerts/alert.js';
import type { OutputSpec } from '../../config/schema.js';
import { errorMessage } from '../../errors.js';
import { withRetries } from '../http/post.js';
import { alertFilter, outputName, retrySettings, type AlertOutput } from './output.js';

type SyslogSpec = Extract<OutputSpec, { type: 'syslog' }>;

const FACILITY: Record<SyslogSpec['facility'], number> = { auth: 4, authpriv: 10, daemon: 3, local0: 16, local1: 17, local2: 18, local3: 19, local4: 20, local5: 21, local6: 22, local7: 23, security: 13, user: 1 };
/** RFC 5424 severities: critical 2, warning 4, informational 6. */
const SEVERITY: Record<Alert['severity'], number> = { critical: 2, warning: 4, info: 6 };
/** CEF severities, 0–10. */
const CEF_SEVERITY: Record<Alert['severity'], number> = { critical: 10, warning: 6, info: 3 };
/** The private enterprise number RFC 5612 reserves for documentation, as structured-data ids without a registered one use. */
const SD_ID = 'auditwatch@32473';

const sdValue = (v: string) => v.replace(/[\\\]"]/g, (c) => `\\${c}`);
const cefHeader = (v: string) => v.replace(/[\\|]/g, (c) => `\\${c}`);
const cefExt = (v: string) => v.replace(/[\\=]/g, (c) => `\\${c}`).replace(/\r?\n/g, '\\n');

/** The alert as one CEF record (what SIEMs without a syslog structured-data parser read). */
export function cefMessage(a: Alert, version: string): string {
  const ext = {
    rt: String(a.detectedAt), suser: a.principal, cs1Label: 'environment', cs1: a.environment, cs2Label: 'resourceType', cs2: a.resourceType,
    cs3Label: 'alertId', cs3: a.id, cn1Label: 'revision', cn1: String(a.revision), act: a.action, cnt: String(a.objectCount), msg: a.reason,
  };
  return `CEF:0|auditwatch|auditwatch|${cefHeader(version)}|${cefHeader(a.detector)}|${cefHeader(`${a.severity} ${a.detector} on ${a.resourceType} in ${a.environment}`)}|${CEF_SEVERITY[a.severity]}|` +
    Object.entries(ext).map(([k, v]) => `${k}=${cefExt(v)}`).join(' ');
}

/** One RFC 5424 message: the alert in structured data, the reason (or a CEF record) as the message. */
export function syslogMessage(a: Alert, spec: Pick<SyslogSpec, 'facility' | 'appName' | 'format'>, host = hostname(), version = '0'): string {
  const pri = FACILITY[spec.facility] * 8 + SEVERITY[a.severity];
  const sd = `[${SD_ID} alertId="${sdValue(a.id)}" revision="${a.revision}" severity="${a.severity}" detector="${sdValue(a.detector)}" environment="${sdValue(a.environment)}" principal="${sdValue(a.principal)}" resourceType="${sdValue(a.resourceType)}" action="${a.action}"${a.closed ? ' closed="true"' : ''}]`;
  const msg = spec.format === 'cef' ? cefMessage(a, version) : a.reason;
  return `<${pri}>1 ${new Date(a.detectedAt).toISOString()} ${host || '-'} ${spec.appName} ${process.pid} ${a.detector} ${sd} ${msg}`;
}

/** What TLS needs from the spec's files, read once at build (a file that cannot be read is a config problem). */
export interface SyslogTls {
  ca?: Buffer;
  cert?: Buffer;
  key?: Buffer;
  serverName?: string;
}

/**
 * RFC 5424 over TCP, or TLS (RFC 5425), with octet-counting framing (RFC 6587), one connection kept open and made
 * again after an error. A message counts as accepted once the kernel took the whole frame; a connection that fails
 * (a certificate that does not verify included) is retried with the output's backoff, then the alert goes to the
 * undelivered topic like any other output's.
 */
export function syslogOutput(spec: SyslogSpec, version: string, tls?: SyslogTls): AlertOutput {
  let socket: Socket | undefined;
  let connecting: Promise<Socket> | undefined;
  const connect = (): Promise<Socket> => connecting ??= new Promise<Socket>((resolve, reject) => {
    const fail = (err: Error) => {
      s.destroy();
      socket = undefined;
      connecting = undefined;
      reject(err);
    };
    const ready = () => {
      s.setTimeout(0);
      s.removeListener('error', fail);
      s.on('error', () => undefined);
      s.once('close', () => {
        if (socket === s) socket = undefined;
        connecting = undefined;
      });
      socket = s;
      resolve(s);
    };
    const s: Socket = tls
      ? tlsConnect({ host: spec.host, port: spec.port, ca: tls.ca, cert: tls.cert, key: tls.key, servername: tls.serverName ?? spec.host }, ready)
      : new Socket().connect(spec.port, spec.host, ready);
    s.setTimeout(spec.timeout, () => fail(new Error(`timed out after ${spec.timeout} ms`)));
    s.once('error', fail);
  });
  const write = async (frame: string): Promise<void> => {
    const s = socket ?? await connect();
    await new Promise<void>((resolve, reject) => s.write(frame, (err) => (err ? reject(err) : resolve())));
  };
  return {
    name: outputName(spec), type: 'syslog', concurrency: 1, accepts: alertFilter(spec),
    deliver: (alert, hooks) => {
      const message = syslogMessage(alert, spec, undefined, version);
      const frame = `${Buffer.byteLength(message)} ${message}`;
      return withRetries(`syslog${tls ? '+tls' : ''} ${spec.host}:${spec.port}`, async () => {
        try {
          await write(frame);
          return { done: true };
        } catch (err) {
          socket?.destroy();
          socket = undefined;
          connecting = undefined;
          return { done: false, reason: errorMessage(err) };
        }
      }, { ...retrySettings(spec), ...hooks });
    },
  };
}
