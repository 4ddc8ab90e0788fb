/**
 * A small validator for the subset of JSON Schema that src/routes/openapi.ts
 * uses. A keyword it does not know is an error, so the document cannot
 * state a rule the tests silently ignore.
 */
type Schema = Record<string, unknown>;

const KNOWN = new Set([
  "$ref",
  "type",
  "const",
  "required",
  "properties",
  "additionalProperties",
  "items",
  "oneOf",
  "pattern",
  "minimum",
  "description",
]);

/** The problems of `value` against `schema` (empty: valid). `root` resolves `#/...` references. */
export function validate(value: unknown, schema: Schema, root: object, at = "$"): string[] {
  for (const keyword of Object.keys(schema)) {
    if (!KNOWN.has(keyword)) return [`${at}: the validator does not know the keyword "${keyword}"`];
  }
  if (typeof schema.$ref === "string") return validate(value, resolve(root, schema.$ref), root, at);
  const problems: string[] = [];
  if (schema.type !== undefined) {
    const types = Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
    if (!types.some((type) => hasType(value, type)))
      return [`${at}: expected ${types.join(" or ")}, got ${JSON.stringify(value)}`];
  }
  if ("const" in schema && value !== schema.const) problems.push(`${at}: expected ${JSON.stringify(schema.const)}`);
  if (typeof schema.pattern === "string" && typeof value === "string" && !new RegExp(schema.pattern, "u").test(value)) {
    problems.push(`${at}: ${JSON.stringify(value)} does not match ${schema.pattern}`);
  }
  if (typeof schema.minimum === "number" && typeof value === "number" && value < schema.minimum) {
    problems.push(`${at}: ${value} is below ${schema.minimum}`);
  }
  if (Array.isArray(schema.oneOf)) {
    const matching = (schema.oneOf as Schema[]).filter((option) => validate(value, option, root, at).length === 0);
    if (matching.length !== 1) problems.push(`${at}: matches ${matching.length} of the oneOf schemas, not exactly 1`);
  }
  if (Array.isArray(value) && schema.items) {
    value.forEach((item, index) => {
      problems.push(...validate(item, schema.items as Schema, root, `${at}[${index}]`));
    });
  }
  if (isObject(value)) {
    for (const key of (schema.required as string[] | undefined) ?? []) {
      if (!(key in value)) problems.push(`${at}: missing "${key}"`);
    }
    const properties = (schema.properties as Record<string, Schema> | undefined) ?? {};
    for (const [key, item] of Object.entries(value)) {
      if (key in properties) problems.push(...validate(item, properties[key]!, root, `${at}.${key}`));
      else if (schema.additionalProperties === false) problems.push(`${at}: unexpected property "${key}"`);
    }
  }
  return problems;
}

function hasType(value: unknown, type: string): boolean {
  switch (type) {
    case "null":
      return value === null;
    case "integer":
      return Number.isInteger(value);
    case "array":
      return Array.isArray(value);
    case "object":
      return isObject(value);
    default:
      return typeof value === type;
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function resolve(root: object, ref: string): Schema {
  if (!ref.startsWith("#/")) throw new Error(`only local references are supported: ${ref}`);
  let node: unknown = root;
  for (const part of ref.slice(2).split("/")) node = (node as Record<string, unknown>)[part];
  if (!isObject(node)) throw new Error(`unresolved reference ${ref}`);
  return node;
}
