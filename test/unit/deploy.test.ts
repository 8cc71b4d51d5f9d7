import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { validateConfig } from '../../src/config/load.js';
import { PROJECT_ROOT } from '../../src/kafka/local-broker.js';

describe('the Kubernetes manifests', () => {
  const docs = parseAllDocuments(readFileSync(join(PROJECT_ROOT, 'deploy', 'kubernetes', 'admission-webhook.yaml'), 'utf8')).map((d) => d.toJS() as Record<string, any>);
  const byKind = (kind: string) => docs.find((d) => d.kind === kind)!;

  it('the admission webhook\'s config is a valid auditwatch config, and the webhook points where it listens', () => {
    const config = validateConfig(parse(byKind('ConfigMap').data['config.yaml']), {});
    expect(config.admissionWebhook).toMatchObject({ port: 8443, certFile: expect.any(String), keyFile: expect.any(String) });
    const container = byKind('Deployment').spec.template.spec.containers[0];
    expect(container.ports.find((p: { name: string }) => p.name === 'webhook').containerPort).toBe(config.admissionWebhook.port);
    expect(container.ports.find((p: { name: string }) => p.name === 'metrics').containerPort).toBe(config.metrics.port);
    expect(config.metrics.host).toBe('0.0.0.0'); // the kubelet's probes come from outside the pod's loopback
    const webhook = byKind('ValidatingWebhookConfiguration').webhooks[0];
    expect(webhook.clientConfig.service.path).toBe('/validate');
    expect(webhook.admissionReviewVersions).toEqual(['v1']);
    expect(webhook.sideEffects).toBe('None');
    expect(webhook.rules[0].operations).toEqual(['CREATE', 'UPDATE', 'DELETE']);
    // The webhook never selects its own namespace or kube-system: it cannot lock out its own repair.
    expect(webhook.namespaceSelector.matchExpressions[0]).toMatchObject({ operator: 'NotIn', values: expect.arrayContaining(['kube-system', 'auditwatch']) });
  });
});
