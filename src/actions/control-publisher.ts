import type { Producer } from 'kafkajs';
import type { Config } from '../config/schema.js';
import { ConfigError } from '../errors.js';
import { controlMessage, signControlRecord, type ControlRecord, type UnsignedControlRecord } from './control-record.js';
import { KeyRing, loadKeyRing, loadSigner, type Signer } from './signing.js';

/** Signs control records and writes them to the control topic, acknowledged by every in-sync replica. */
export class ControlPublisher {
  constructor(private readonly producer: Producer, readonly topic: string, private readonly signer: Signer) {}

  async publish(unsigned: readonly UnsignedControlRecord[]): Promise<ControlRecord[]> {
    const records = unsigned.map((u) => signControlRecord(u, this.signer));
    if (records.length) await this.producer.send({ topic: this.topic, acks: -1, messages: records.map(controlMessage) });
    return records;
  }
}

/**
 * The keys of the control channel from the config: the signer (when `freeze.signing` is set) and the public keys
 * every reader accepts. All problems at once, one line each naming its key.
 */
export function controlKeys(config: Config, env: NodeJS.ProcessEnv = process.env): { signer: Signer | undefined; keys: KeyRing } {
  const problems: string[] = [];
  let signer: Signer | undefined;
  let keys = KeyRing.empty();
  try {
    if (config.freeze.signing) signer = loadSigner(config.freeze.signing, env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  try {
    keys = loadKeyRing(config.freeze.trustedKeys);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    problems.push(...err.problems);
  }
  if (problems.length) throw new ConfigError(problems);
  return { signer, keys };
}
