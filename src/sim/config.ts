import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateKeyFiles } from '../actions/signing.js';
import { validateConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { SIM_ACCOUNTS } from './cloudtrail-sim.js';
import { SIM_AZURE_SUBSCRIPTION, SIM_GCP_PROJECT } from './cloud-wipes.js';

/** The simulated cluster's namespaces (src/sim/kubernetes-sim.ts) by environment. */
export const SIM_NAMESPACES = { 'prod-*': 'production', 'staging-*': 'staging' };

let simulationKeys: { signing: { keyId: string; privateKeyFile: string }; trustedKeys: Array<{ keyId: string; publicKeyFile: string }> } | undefined;

/**
 * A signing key made for this process alone (in a temporary directory), so the demo and the tests sign their
 * freezes as production does without a key of the project's own that anyone could copy.
 */
export function ephemeralSigning(): NonNullable<typeof simulationKeys> {
  if (!simulationKeys) {
    const keyId = 'auditwatch-simulation';
    const files = generateKeyFiles(mkdtempSync(join(tmpdir(), 'auditwatch-keys-')), keyId);
    simulationKeys = { signing: { keyId, privateKeyFile: files.privateKeyFile }, trustedKeys: [{ keyId, publicKeyFile: files.publicKeyFile }] };
  }
  return simulationKeys;
}

/** The config the demo and the integration tests run: the simulator's accounts mapped, freezes enforced and signed. */
export function simulationConfig(brokers: string[], run: string): Config {
  return validateConfig({
    kafka: { brokers, clientId: `auditwatch-${run}`, groupId: `auditwatch-${run}` },
    sources: [{ type: 'kafka', topics: [`audit.cloudtrail.${run}`], format: 'cloudtrail' }],
    deadLetter: { topic: `auditwatch.dead-letter.${run}` },
    environments: {
      awsAccounts: { [SIM_ACCOUNTS.production]: 'production', [SIM_ACCOUNTS.staging]: 'staging' }, kubernetesNamespaces: SIM_NAMESPACES,
      gcpProjects: { [SIM_GCP_PROJECT]: 'production' }, azureSubscriptions: { [SIM_AZURE_SUBSCRIPTION]: 'production' },
    },
    alerts: { sinks: [{ type: 'kafka', topic: `auditwatch.alerts.${run}` }] },
    // Change control on: a principal with no history in production that deletes there without an approved change
    // is frozen at its first delete.
    freeze: { mode: 'enforce', rules: [{ requireChange: true }], controlTopic: `auditwatch.control.${run}`, auditTopic: `auditwatch.freeze-audit.${run}`, ...ephemeralSigning() },
    changes: { topic: `auditwatch.changes.${run}` },
    metrics: { enabled: false },
    log: { level: 'warn' },
  }, {});
}
