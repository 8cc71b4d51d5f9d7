import { between, pick, rng, seedOf } from './random.js';

const DAY = 86_400_000;
const HOUR = 3_600_000;

/** One audit.k8s.io/v1 Event at stage ResponseComplete, as an API server's audit log writes it. */
export type K8sAuditRecord = Record<string, unknown> & { auditID: string; stageTimestamp: string };

/** The simulated cluster's namespaces; the simulation config maps prod-* to production and staging-* to staging. */
export const K8S_NAMESPACES = { production: ['prod-shop', 'prod-payments'], staging: ['staging-shop', 'staging-payments'] } as const;
export const HELM_DEPLOYER = 'system:serviceaccount:ci:helm-deployer';
const REPLICASET_CONTROLLER = 'system:serviceaccount:kube-system:replicaset-controller';
const ARGO = 'system:serviceaccount:argocd:argocd-application-controller';
const KUBELET = 'system:node:worker-1';
const K8S_HUMANS = ['oidc:alice@example.com', 'oidc:bob@example.com', 'oidc:sre-oncall@example.com'];

const GROUPS: Record<string, string> = { deployments: 'apps', replicasets: 'apps', statefulsets: 'apps' };

/** Builds Kubernetes audit events; ids are deterministic per (stream, sequence). */
export class K8sRecorder {
  readonly records: K8sAuditRecord[] = [];
  readonly destructive: string[] = [];
  private seq = 0;
  constructor(private readonly stream: string, private readonly from = -Infinity, private readonly to = Infinity) {}

  add(t: number, user: string, verb: string, resource: string, namespace: string, name: string | null, code = 200): void {
    if (t < this.from || t >= this.to) return;
    const id = `${seedOf(this.stream).toString(16).padStart(8, '0')}-k8s-${(this.seq++).toString(16).padStart(10, '0')}`;
    const group = GROUPS[resource];
    const when = new Date(t).toISOString();
    this.records.push({
      kind: 'Event', apiVersion: 'audit.k8s.io/v1', level: 'Metadata', auditID: id, stage: 'ResponseComplete',
      requestURI: `/${group ? `apis/${group}/v1` : 'api/v1'}/namespaces/${namespace}/${resource}${name ? `/${name}` : ''}`,
      verb, user: { username: user, groups: user.startsWith('system:serviceaccount:') ? ['system:serviceaccounts'] : ['system:authenticated'] },
      sourceIPs: ['10.1.0.7'], userAgent: user.startsWith('oidc:') ? 'kubectl/v1.30.1' : 'Go-http-client/2.0',
      objectRef: { resource, namespace, ...(name ? { name } : {}), ...(group ? { apiGroup: group } : {}), apiVersion: 'v1' },
      responseStatus: { metadata: {}, code },
      requestReceivedTimestamp: when, stageTimestamp: when,
      _t: t,
    });
    if (verb === 'delete' || verb === 'deletecollection') this.destructive.push(id);
  }

  finish(): K8sAuditRecord[] {
    this.records.sort((a, b) => (a._t as number) - (b._t as number) || (a.auditID < b.auditID ? -1 : 1));
    for (const r of this.records) delete r._t;
    return this.records;
  }
}

function simulateClusterDay(day: number, seed: number, rec: K8sRecorder): void {
  const weekday = new Date(day).getUTCDay();
  const workday = weekday >= 1 && weekday <= 5;
  // The kubelet and the controllers read around the clock.
  {
    const r = rng(seedOf(seed, 'k8s-reads', day));
    for (let h = 0; h < 24; h++) {
      for (let i = 0; i < 20; i++) {
        const env = r() < 0.5 ? 'production' : 'staging';
        rec.add(day + h * HOUR + Math.floor(r() * HOUR), pick(r, [KUBELET, ARGO, REPLICASET_CONTROLLER]), pick(r, ['get', 'list', 'watch']),
          pick(r, ['pods', 'configmaps', 'secrets', 'deployments']), pick(r, K8S_NAMESPACES[env]), null);
      }
    }
  }
  // Rollouts: the replica-set controller replaces pods, a few times a day in production, more in staging.
  for (const env of ['production', 'staging'] as const) {
    const r = rng(seedOf(seed, 'k8s-rollout', env, day));
    for (let k = workday ? between(r, 2, env === 'production' ? 3 : 6) : 0; k > 0; k--) {
      let t = day + 9 * HOUR + Math.floor(r() * 8 * HOUR);
      const ns = pick(r, K8S_NAMESPACES[env]);
      for (let p = between(r, 3, 8); p > 0; p--) {
        const pod = `web-${between(r, 1e4, 1e5)}`;
        rec.add(t, REPLICASET_CONTROLLER, 'create', 'pods', ns, pod);
        t += between(r, 5, 20) * 1000;
        rec.add(t, REPLICASET_CONTROLLER, 'delete', 'pods', ns, `web-${between(r, 1e4, 1e5)}`);
      }
    }
  }
  // Helm deploys to staging every night: the release is upgraded, and old release secrets are pruned.
  {
    const r = rng(seedOf(seed, 'k8s-helm', day));
    let t = day + 2 * HOUR + between(r, 0, 600) * 1000;
    for (const ns of K8S_NAMESPACES.staging) {
      for (const res of ['deployments', 'services', 'configmaps']) { rec.add(t, HELM_DEPLOYER, 'patch', res, ns, `${ns}-app`); t += 300; }
      for (let s = between(r, 1, 3); s > 0; s--) { rec.add(t, HELM_DEPLOYER, 'delete', 'secrets', ns, `sh.helm.release.v1.app.v${between(r, 1, 500)}`); t += 200; }
    }
  }
  // Argo CD syncs production: patches, never deletes.
  {
    const r = rng(seedOf(seed, 'k8s-argo', day));
    for (let k = between(r, 4, 10); k > 0; k--) rec.add(day + Math.floor(r() * DAY), ARGO, 'patch', pick(r, ['deployments', 'configmaps']), pick(r, K8S_NAMESPACES.production), 'app');
  }
  // People: kubectl get and describe; in staging now and then a pod deleted by hand; a few denied calls.
  for (const user of K8S_HUMANS) {
    const r = rng(seedOf(seed, 'k8s-human', user, day));
    if (!workday) continue;
    for (let i = between(r, 10, 40); i > 0; i--) {
      const env = r() < 0.7 ? 'staging' : 'production';
      const t = day + 8 * HOUR + Math.floor(r() * 10 * HOUR);
      const x = r();
      if (x < 0.9) rec.add(t, user, pick(r, ['get', 'list']), pick(r, ['pods', 'deployments', 'services']), pick(r, K8S_NAMESPACES[env]), null, r() < 0.03 ? 403 : 200);
      else if (env === 'staging') rec.add(t, user, 'delete', 'pods', pick(r, K8S_NAMESPACES.staging), `debug-${between(r, 1, 999)}`);
    }
  }
}

/** Normal audit traffic of the simulated cluster in [from, to), sorted by time. */
export function simulateKubernetesTraffic(opts: { seed: number; from: number; to: number }): K8sAuditRecord[] {
  const rec = new K8sRecorder(`k8s-normal-${opts.seed}`, opts.from, opts.to);
  for (let day = Math.floor(opts.from / DAY) * DAY; day < opts.to; day += DAY) simulateClusterDay(day, opts.seed, rec);
  return rec.finish();
}
