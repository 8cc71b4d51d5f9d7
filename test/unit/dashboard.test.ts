import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { PROJECT_ROOT } from '../../src/kafka/local-broker.js';
import { Metrics } from '../../src/metrics/metrics.js';

interface Panel { title: string; targets?: Array<{ expr: string }> }

describe('the Grafana dashboard in deploy/', () => {
  const dashboard = JSON.parse(readFileSync(join(PROJECT_ROOT, 'deploy', 'grafana', 'dashboards', 'auditwatch.json'), 'utf8')) as { panels: Panel[] };
  const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));

  it('queries only metrics that auditwatch exports', async () => {
    const metrics = new Metrics({ defaultMetrics: true });
    const exported = new Set<string>();
    for (const m of await metrics.registry.getMetricsAsJSON()) {
      exported.add(m.name);
      if (String(m.type) === 'histogram') for (const s of ['_bucket', '_sum', '_count']) exported.add(`${m.name}${s}`);
    }
    const queried = new Set(exprs.flatMap((e) => e.match(/auditwatch_[a-z0-9_]+/g) ?? []));
    expect(queried.size).toBeGreaterThanOrEqual(12);
    expect([...queried].filter((name) => !exported.has(name))).toEqual([]);
  });

  it('covers what the issue asks for: events/s, end-to-end lag, consumer lag, alerts by severity, freezes, dead letters, model backend', () => {
    const text = exprs.join('\n');
    for (const m of ['auditwatch_events_decoded_total', 'auditwatch_end_to_end_lag_seconds_bucket', 'auditwatch_consumer_lag', 'auditwatch_alerts_total', 'auditwatch_freezes_total', 'auditwatch_dead_letter_total', 'auditwatch_model_backend']) {
      expect(text).toContain(m);
    }
  });

  it('Prometheus scrapes the port auditwatch serves in compose', () => {
    const prom = parse(readFileSync(join(PROJECT_ROOT, 'deploy', 'prometheus', 'prometheus.yml'), 'utf8'));
    const compose = parse(readFileSync(join(PROJECT_ROOT, 'config', 'compose.yaml'), 'utf8'));
    expect(prom.scrape_configs[0].static_configs[0].targets).toEqual([`auditwatch:${compose.metrics.port}`]);
  });
});
