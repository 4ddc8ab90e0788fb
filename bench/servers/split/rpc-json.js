// @ts-nocheck -- runs inside workerd (bench/systems/relay-split.ts).
/** JSON for the split-process relay's forwarded RPC calls: Uint8Array values travel as base64. */
export function encode(value) {
  return JSON.stringify(value, (_key, v) => (v instanceof Uint8Array ? { $bytes: toBase64(v) } : v));
}

export function decode(text) {
  return JSON.parse(text, (_key, v) =>
    v !== null && typeof v === "object" && typeof v.$bytes === "string" ? fromBase64(v.$bytes) : v,
  );
}

function toBase64(bytes) {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

function fromBase64(text) {
  const binary = atob(text);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
