import { describe, expect, it } from 'vitest';

describe('the package entries', () => {
  it("a service imports the write gate as 'auditwatch/write-gate' (the built package, through package.json exports)", async () => {
    // A variable specifier: the type-check runs before the build, and must not need dist/.
    const entry = 'auditwatch/write-gate';
    const mod = (await import(entry)) as Record<string, unknown>;
    expect(typeof mod.WriteGate).toBe('function');
    expect(typeof mod.loadKeyRing).toBe('function');
    expect(typeof mod.KeyRing).toBe('function');
  });
});
