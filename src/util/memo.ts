/**
 * Memoises a pure function of one string, for the few thousand distinct names (event names, role names) that
 * repeat across millions of events. Bounded: when full it starts over rather than grow without limit.
 */
export function memo<T>(fn: (key: string) => T, max = 10_000): (key: string) => T {
  let cache = new Map<string, T>();
  return (key) => {
    let v = cache.get(key);
    if (v === undefined && !cache.has(key)) {
      v = fn(key);
      if (cache.size >= max) cache = new Map();
      cache.set(key, v);
    }
    return v as T;
  };
}
