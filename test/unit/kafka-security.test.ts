import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { connectionSecurity } from '../../src/kafka/client.js';

describe('Kafka TLS and SASL', () => {
  const dir = mkdtempSync(join(tmpdir(), 'aw-sec-'));
  writeFileSync(join(dir, 'ca.pem'), 'CA');
  writeFileSync(join(dir, 'password'), 'from-a-file\n');

  it('reads the SASL password from the environment or a file, and TLS material from files', () => {
    const env = validateConfig({ kafka: { ssl: { caFile: join(dir, 'ca.pem') }, sasl: { mechanism: 'scram-sha-512', username: 'aw', passwordEnv: 'KAFKA_PASSWORD' } } }, {});
    expect(connectionSecurity(env.kafka, { KAFKA_PASSWORD: 's3cret' })).toEqual({ ssl: { rejectUnauthorized: true, ca: ['CA'] }, sasl: { mechanism: 'scram-sha-512', username: 'aw', password: 's3cret' } });
    const file = validateConfig({ kafka: { ssl: true, sasl: { mechanism: 'plain', username: 'aw', passwordFile: join(dir, 'password') } } }, {});
    expect(connectionSecurity(file.kafka, {})).toEqual({ ssl: true, sasl: { mechanism: 'plain', username: 'aw', password: 'from-a-file' } });
  });

  it('a password cannot be written into the config, and a missing one is a clear error', () => {
    expect(() => validateConfig({ kafka: { sasl: { mechanism: 'plain', username: 'aw', password: 'inline' } } }, {})).toThrow(/kafka\.sasl: .*password: unknown key|kafka\.sasl\.password: unknown key|password/);
    expect(() => validateConfig({ kafka: { sasl: { mechanism: 'plain', username: 'aw' } } }, {})).toThrow(/exactly one of passwordEnv or passwordFile/);
    const c = validateConfig({ kafka: { sasl: { mechanism: 'plain', username: 'aw', passwordEnv: 'NOPE' } } }, {});
    expect(() => connectionSecurity(c.kafka, {})).toThrow('config: kafka.sasl.passwordEnv: environment variable NOPE is not set');
  });
});
