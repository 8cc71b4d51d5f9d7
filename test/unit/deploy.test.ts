import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { validateConfig } from '../../src/config/load.js';
import { PROJECT_ROOT } from '../../src/kafka/local-broker.js';
import { Metrics } from '../../src/metrics/metrics.js';

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

describe('the alerting rules for auditwatch itself (deploy/prometheus/rules.yml)', () => {
  const dir = join(PROJECT_ROOT, 'deploy', 'prometheus');
  // Debian's prometheus package has promtool (.ci/run installs it): the real checker, not a YAML parse.
  const promtool = (...args: string[]) => spawnSync('promtool', args, { cwd: dir, encoding: 'utf8' });

  it('promtool checks them, and its unit tests fire each rule on the series that should and not on a healthy instance', () => {
    const check = promtool('check', 'rules', 'rules.yml');
    expect(check.error, 'promtool not found: apt-get install prometheus (.ci/run does)').toBeUndefined();
    expect(check.status, check.stdout + check.stderr).toBe(0);
    expect(check.stdout).toContain('SUCCESS: 8 rules found');
    const test = promtool('test', 'rules', 'rules.test.yml');
    expect(test.status, test.stdout + test.stderr).toBe(0);
    // The compose Prometheus loads them and alerts through the compose Alertmanager.
    const config = promtool('check', 'config', '--syntax-only', 'prometheus.yml');
    expect(config.status, config.stdout + config.stderr).toBe(0);
    expect(parse(readFileSync(join(dir, 'prometheus.yml'), 'utf8')).alerting.alertmanagers[0].static_configs[0].targets).toEqual(['alertmanager:9093']);
  });

  it('every metric a rule reads is one auditwatch registers (a rename breaks this, not the pager)', async () => {
    const rules = readFileSync(join(dir, 'rules.yml'), 'utf8');
    const used = new Set([...rules.matchAll(/\b(auditwatch_[a-z_]+)/g)].map((m) => m[1]!));
    const registered = new Set((await new Metrics().registry.getMetricsAsJSON()).map((m) => m.name));
    expect([...used].filter((name) => !registered.has(name))).toEqual([]);
    expect(used.size).toBeGreaterThanOrEqual(9);
  });
});
