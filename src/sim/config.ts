import { validateConfig } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { SIM_ACCOUNTS } from './cloudtrail-sim.js';

/** The simulated cluster's namespaces (src/sim/kubernetes-sim.ts) by environment. */
export const SIM_NAMESPACES = { 'prod-*': 'production', 'staging-*': 'staging' };

/** The config the demo and the integration tests run: the simulator's accounts mapped, freezes enforced. */
export function simulationConfig(brokers: string[], run: string): Config {
  return validateConfig({
    kafka: { brokers, clientId: `auditwatch-${run}`, groupId: `auditwatch-${run}` },
    sources: [{ type: 'kafka', topics: [`audit.cloudtrail.${run}`], format: 'cloudtrail' }],
    deadLetter: { topic: `auditwatch.dead-letter.${run}` },
    environments: { awsAccounts: { [SIM_ACCOUNTS.production]: 'production', [SIM_ACCOUNTS.staging]: 'staging' }, kubernetesNamespaces: SIM_NAMESPACES },
    alerts: { sinks: [{ type: 'kafka', topic: `auditwatch.alerts.${run}` }] },
    freeze: { mode: 'enforce', controlTopic: `auditwatch.control.${run}`, auditTopic: `auditwatch.freeze-audit.${run}` },
    metrics: { enabled: false },
    log: { level: 'warn' },
  }, {});
}
