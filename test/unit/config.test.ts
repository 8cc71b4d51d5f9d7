import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';
import { consumerThread } from '../../src/sources/kafka/live.js';

function problems(raw: unknown, env: NodeJS.ProcessEnv = {}): string[] {
  try {
    validateConfig(raw, env);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).problems;
  }
  return [];
}

describe('config validation', () => {
  it('an empty config is valid and gets the documented defaults', () => {
    const c = validateConfig({}, {});
    expect(c.freeze).toMatchObject({ mode: 'dry-run', allow: { environments: ['production'] }, cap: { maxFreezes: 3, window: 3_600_000 } });
    expect(c.freeze.rules).toEqual([{ detectors: [], severities: ['critical'], environments: ['production'], resourceTypes: ['*'], scope: 'principal', ttl: 3_600_000, requireChange: false }]);
    expect(c.detectors.map((d) => d.type)).toEqual(['bulk-delete', 'bulk-read', 'context', 'model']);
    expect(c.detectors[0]).toMatchObject({ type: 'bulk-delete', windows: [10_000, 60_000, 600_000, 3_600_000], minObjects: 10 });
  });

  it('a config with three mistakes gets three lines, each naming its key', () => {
    const lines = problems({
      freeze: { rules: [{ ttl: 'forever' }], mode: 'enforce' },
      detectors: [{ type: 'bulk-delete', tolerance: 0.5 }],
      kafka: { brokers: ['no-port'] },
    });
    expect(lines).toHaveLength(3);
    expect(lines.find((l) => l.startsWith('config: freeze.rules.0.ttl:'))).toMatch(/duration.*got "forever"/);
    expect(lines.find((l) => l.startsWith('config: detectors.0.tolerance:'))).toMatch(/got 0\.5/);
    expect(lines.find((l) => l.startsWith('config: kafka.brokers.0:'))).toMatch(/host:port/);
  });

  it('unknown keys and unknown detector types are errors, not silently ignored', () => {
    expect(problems({ fereeze: {} })).toEqual(['config: fereeze: unknown key']);
    expect(problems({ detectors: [{ type: 'magic' }] })[0]).toMatch(/^config: detectors\.0\.type:/);
  });

  it('AUDITWATCH__ variables override any key, read as YAML values, and are validated like the file', () => {
    const c = validateConfig({ freeze: { mode: 'dry-run' } }, {
      AUDITWATCH__FREEZE__MODE: 'enforce', AUDITWATCH__FREEZE__CAP__MAX_FREEZES: '5', AUDITWATCH__ENVIRONMENTS__CRITICAL: '[production, payments]',
      // Enforcing needs a signing key that is trusted: flow mappings in the environment set them like the file would.
      AUDITWATCH__FREEZE__SIGNING: '{keyId: k1, privateKeyEnv: AW_KEY}', AUDITWATCH__FREEZE__TRUSTED_KEYS: '[{keyId: k1, publicKeyFile: /etc/aw/k1.pub}]',
    });
    expect(c.freeze.mode).toBe('enforce');
    expect(c.freeze.signing).toEqual({ keyId: 'k1', privateKeyEnv: 'AW_KEY' });
    expect(c.freeze.trustedKeys).toEqual([{ keyId: 'k1', publicKeyFile: '/etc/aw/k1.pub' }]);
    expect(c.freeze.cap.maxFreezes).toBe(5);
    expect(c.environments.critical).toEqual(['production', 'payments']);
    expect(problems({}, { AUDITWATCH__FREEZE__CAP__MAX_FREEZES: 'many' })).toEqual(['config: freeze.cap.maxFreezes: Invalid input: expected number, received string (got "many")']);
  });

  it('suppressions need an owner, a reason and an expiry', () => {
    const lines = problems({ suppressions: [{ principal: 'svc' }] });
    expect(lines.map((l) => l.split(':').slice(0, 2).join(':')).sort()).toEqual(['config: suppressions.0.expires', 'config: suppressions.0.owner', 'config: suppressions.0.reason']);
  });

  it('the consumer thread: "auto" gives each worker process two cores, and a bad value names its key', () => {
    const thread = (raw: unknown, cores: number) => consumerThread(validateConfig(raw, {}), cores);
    expect(thread({}, 2)).toBe(true);
    expect(thread({ workers: 2 }, 2)).toBe(false);
    expect(thread({ workers: 2 }, 4)).toBe(true);
    expect(thread({ workers: 'auto' }, 8)).toBe(false);
    expect(thread({}, 1)).toBe(false);
    expect(thread({ kafka: { consumer: { thread: true } }, workers: 2 }, 2)).toBe(true);
    expect(thread({ kafka: { consumer: { thread: false } } }, 2)).toBe(false);
    expect(problems({ kafka: { consumer: { thread: 'yes', decodeShare: 2 } } })).toEqual([
      'config: kafka.consumer.thread: expected true, false or "auto" (got "yes")',
      expect.stringMatching(/^config: kafka\.consumer\.decodeShare: /),
    ]);
  });

  it('KAFKA_BROKERS overrides the file', () => {
    expect(validateConfig({ kafka: { brokers: ['a:1'] } }, { KAFKA_BROKERS: 'b:2,c:3' }).kafka.brokers).toEqual(['b:2', 'c:3']);
    expect(problems({}, { KAFKA_BROKERS: 'oops' })[0]).toMatch(/^config: kafka\.brokers\.0: expected host:port/);
  });
});

describe('the config files shipped in config/', () => {
  it('all validate', async () => {
    const { readdirSync } = await import('node:fs');
    const { join } = await import('node:path');
    const { loadConfig } = await import('../../src/config/load.js');
    const { PROJECT_ROOT } = await import('../../src/kafka/local-broker.js');
    const files = readdirSync(join(PROJECT_ROOT, 'config')).filter((f) => f.endsWith('.yaml'));
    expect(files.length).toBeGreaterThanOrEqual(3);
    for (const f of files) expect(() => loadConfig(join(PROJECT_ROOT, 'config', f), {}), f).not.toThrow();
  });
});

describe('alert outputs in the config', () => {
  it('bad outputs: one line per problem naming the key (an unknown type, a URL that is not http, no kafka sink to deliver from, a secret not set)', async () => {
    const { buildOutputs } = await import('../../src/sinks/outputs/index.js');
    const problems = (raw: unknown): string[] => {
      try {
        validateConfig(raw, {});
        return [];
      } catch (err) {
        return (err as { problems: string[] }).problems;
      }
    };
    expect(problems({ alerts: { sinks: [{ type: 'kafka', topic: 'a' }, { type: 'pager' }] } })).toEqual([expect.stringMatching(/^config: alerts\.sinks\.1\.type: .*got "pager"/)]);
    expect(problems({ alerts: { sinks: [{ type: 'kafka', topic: 'a' }, { type: 'alertmanager', url: 'ftp://am' }] } })).toEqual([expect.stringMatching(/^config: alerts\.sinks\.1\.url: expected an http or https URL/)]);
    // Not a URL at all is the same one problem, one line.
    expect(problems({ alerts: { sinks: [{ type: 'kafka', topic: 'a' }, { type: 'webhook', url: 'not a url', secretEnv: 'S' }] } })).toEqual([expect.stringMatching(/^config: alerts\.sinks\.1\.url: expected an http or https URL \(got "not a url"\)$/)]);
    expect(problems({ freeze: { actuators: [{ type: 'webhook', url: 'ftp://freeze' }] } })).toEqual([expect.stringMatching(/^config: freeze\.actuators\.0\.url: expected an http or https URL/)]);
    expect(problems({ alerts: { sinks: [{ type: 'alertmanager', url: 'http://am:9093' }] } })).toEqual([expect.stringMatching(/^config: alerts\.sinks\.0\.type: alertmanager is delivered from the alerts topic: add a sink of type kafka/)]);
    // An OCSF topic is not one the outputs can read.
    expect(problems({ alerts: { sinks: [{ type: 'kafka', topic: 'a', format: 'ocsf' }, { type: 'alertmanager', url: 'http://am:9093' }] } })).toEqual([expect.stringMatching(/^config: alerts\.sinks\.1\.type: .*add a sink of type kafka with format avro/)]);
    expect(problems({ alerts: { sinks: [{ type: 'kafka', topic: 'a' }, { type: 'syslog', host: 'siem', tls: { certFile: 'c.pem' } }] } })).toEqual([expect.stringMatching(/^config: alerts\.sinks\.1\.tls: certFile and keyFile go together/)]);
    expect(problems({ alerts: { sinks: [{ type: 'kafka', topic: 'a' }, { type: 'alertmanager', url: 'http://a' }, { type: 'alertmanager', url: 'http://b' }] } }))
      .toEqual([expect.stringMatching(/^config: alerts\.sinks\.2\.name: output name alertmanager is used twice/)]);
    const config = validateConfig({ alerts: { sinks: [{ type: 'kafka', topic: 'a' }, { type: 'webhook', url: 'https://hooks.example/x', secretEnv: 'HOOK_SECRET' }] } }, {});
    expect(() => buildOutputs(config, {})).toThrow('config: alerts.sinks.1.secretEnv: environment variable HOOK_SECRET is not set');
    // The freeze actuators' secrets the same way, every one at once.
    const { buildActuators } = await import('../../src/actions/index.js');
    const actuated = validateConfig({ freeze: { actuators: [
      { type: 'postgres', connectionEnv: 'PG_URL', roles: [{ environment: 'production', role: 'app' }] },
      { type: 'webhook', url: 'https://freeze.example/hook', secretEnv: 'FREEZE_HOOK' },
    ] } }, {});
    expect(() => buildActuators(actuated, {})).toThrow(expect.objectContaining({ problems: [
      'config: freeze.actuators.0.connectionEnv: environment variable PG_URL is not set',
      'config: freeze.actuators.1.secretEnv: environment variable FREEZE_HOOK is not set',
    ] }));
    const tls = validateConfig({ alerts: { sinks: [{ type: 'kafka', topic: 'a' }, { type: 'syslog', host: 'siem', port: 6514, tls: { caFile: '/nonexistent/ca.pem' } }] } }, {});
    expect(() => buildOutputs(tls, {})).toThrow('config: alerts.sinks.1.tls.caFile: cannot read /nonexistent/ca.pem (ENOENT)');
    expect(buildOutputs(config, { HOOK_SECRET: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw' }).map((o) => o.name)).toEqual(['webhook']);
  });
});
