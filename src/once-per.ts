/**
 * Memoizes `make` per key object: the platform hands the Worker the same
 * env object across requests, so whatever is built from it (the validated
 * config, the middleware built from that config) is built once.
 */
export function oncePer<K extends object, V>(make: (key: K) => V): (key: K) => V {
  const made = new WeakMap<K, V>();
  return (key) => {
    if (made.has(key)) return made.get(key)!;
    const value = make(key);
    made.set(key, value);
    return value;
  };
}
