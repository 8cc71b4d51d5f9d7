import { describe, expect, it } from 'vitest';
import { AuditwatchError, causeChain, isTransient, rootCause } from '../../src/errors.js';

/** kafkajs's shape: a give-up ("number of retries exceeded") whose cause is the broker's error. */
const wrapped = (cause: unknown, retriable = false) => Object.assign(new Error('retries exceeded'), { retriable, cause });

describe('cause chains', () => {
  it('a give-up is transient when an error under it was retriable, and not when none was', () => {
    const down = Object.assign(new Error('connection refused'), { retriable: true });
    expect(isTransient(wrapped(wrapped(down)))).toBe(true);
    expect(isTransient(wrapped(wrapped(new Error('invalid session timeout'))))).toBe(false);
    expect(isTransient(new AuditwatchError('ACTION_FAILED', 'x', { retriable: true }))).toBe(true);
  });

  it('the root cause is the innermost error', () => {
    const broker = new Error('The session timeout is not within the range allowed by the broker');
    expect(rootCause(wrapped(wrapped(broker)))).toBe(broker);
    expect(rootCause('plain')).toBe('plain');
  });

  it('a cycle or a runaway chain ends', () => {
    const a: Error & { cause?: unknown } = new Error('a');
    a.cause = wrapped(a);
    expect([...causeChain(a)].length).toBeLessThanOrEqual(6);
    let deep: unknown = Object.assign(new Error('retriable, too deep'), { retriable: true });
    for (let i = 0; i < 20; i++) deep = wrapped(deep);
    expect([...causeChain(deep)]).toHaveLength(6);
    expect(isTransient(deep)).toBe(false);
  });
});
