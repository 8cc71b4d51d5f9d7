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

/**
 * memo() for a function of two strings, without building a key string per call: a map per first key. Bounded the
 * same way, by the number of pairs.
 */
export function memo2<T>(fn: (a: string, b: string) => T, max = 10_000): (a: string, b: string) => T {
  let cache = new Map<string, Map<string, T>>();
  let size = 0;
  return (a, b) => {
    let inner = cache.get(a);
    if (inner === undefined) cache.set(a, (inner = new Map()));
    let v = inner.get(b);
    if (v === undefined && !inner.has(b)) {
      v = fn(a, b);
      if (size >= max) {
        cache = new Map([[a, (inner = new Map())]]);
        size = 0;
      }
      inner.set(b, v);
      size++;
    }
    return v as T;
  };
}
