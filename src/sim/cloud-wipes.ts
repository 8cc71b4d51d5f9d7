import { rng, between, seedOf } from './random.js';

/** The simulated GCP project and Azure subscription that hold production. */
export const SIM_GCP_PROJECT = 'acme-prod';
export const SIM_AZURE_SUBSCRIPTION = '0b1f6471-1bf0-4dda-aec3-111111111111';
export const GCP_WIPER = 'ci-cleanup@acme-prod.iam.gserviceaccount.com';
export const AZURE_WIPER = 'maintenance-job@acme.example';

/**
 * A mass delete in a GCP project, as Cloud Audit Logs record it: a service account that lists disks, then deletes
 * them one call each, `callsPerSecond` a second (the 2012 case, on Compute Engine).
 */
export function simulateGcpWipe(opts: { seed: number; at: number; disks?: number; callsPerSecond?: number }): Array<Record<string, unknown>> {
  const r = rng(seedOf(opts.seed, 'gcp-wipe', opts.at));
  const gap = 1000 / (opts.callsPerSecond ?? 20);
  const entry = (t: number, method: string, resourceName: string) => ({
    insertId: `sim-${opts.seed}-${t}-${between(r, 0, 1e9)}`,
    logName: `projects/${SIM_GCP_PROJECT}/logs/cloudaudit.googleapis.com%2Factivity`,
    protoPayload: {
      '@type': 'type.googleapis.com/google.cloud.audit.AuditLog',
      authenticationInfo: { principalEmail: GCP_WIPER },
      methodName: method,
      resourceName,
      serviceName: 'compute.googleapis.com',
      requestMetadata: { callerIp: '10.0.0.7', callerSuppliedUserAgent: 'google-api-go-client/0.5' },
    },
    resource: { type: 'gce_disk', labels: { project_id: SIM_GCP_PROJECT, zone: 'europe-west1-b' } },
    severity: 'NOTICE',
    timestamp: new Date(t).toISOString(),
  });
  const out = [entry(opts.at, 'v1.compute.disks.list', `projects/${SIM_GCP_PROJECT}/zones/europe-west1-b/disks`)];
  for (let i = 0, t = opts.at + 500; i < (opts.disks ?? 200); i++, t += gap) {
    out.push(entry(t, 'v1.compute.disks.delete', `projects/${SIM_GCP_PROJECT}/zones/europe-west1-b/disks/data-${between(r, 1, 1e6)}`));
  }
  return out;
}

/**
 * A mass delete in an Azure subscription, as diagnostic settings export the Activity Log to Event Hubs: each
 * storage account deleted is a Started record and a Succeeded one, the way Azure Resource Manager logs it.
 */
export function simulateAzureWipe(opts: { seed: number; at: number; accounts?: number; callsPerSecond?: number }): Array<Record<string, unknown>> {
  const r = rng(seedOf(opts.seed, 'azure-wipe', opts.at));
  const gap = 1000 / (opts.callsPerSecond ?? 20);
  const out: Array<Record<string, unknown>> = [];
  for (let i = 0, t = opts.at; i < (opts.accounts ?? 200); i++, t += gap) {
    const resourceId = `/subscriptions/${SIM_AZURE_SUBSCRIPTION}/resourceGroups/prod-data/providers/Microsoft.Storage/storageAccounts/prod${between(r, 1, 1e6)}`;
    const correlationId = `00000000-0000-4000-8000-${String(between(r, 0, 1e11)).padStart(12, '0')}`;
    for (const [resultType, dt] of [['Start', 0], ['Success', 40]] as const) {
      out.push({
        time: new Date(t + dt).toISOString(), resourceId, operationName: 'MICROSOFT.STORAGE/STORAGEACCOUNTS/DELETE', category: 'Administrative',
        resultType, correlationId, callerIpAddress: '10.1.0.9', caller: AZURE_WIPER, level: 'Informational',
        identity: { claims: { 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn': AZURE_WIPER, idtyp: 'user' } },
      });
    }
  }
  return out;
}
