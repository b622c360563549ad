// JSON values as the checks read them: paths into a document, type guards, and plain objects.

/** A path into the JSON document: object keys and array indices. */
export type JsonPath = (string | number)[];

export type Json = Record<string, unknown>;

export function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function isNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

export function isInteger(v: unknown): v is number {
  return Number.isInteger(v);
}

export function objectAt(parent: Json, key: string): Json | undefined {
  const v = parent[key];
  return isObject(v) ? v : undefined;
}

/** jsonc-parser builds objects without a prototype; the config gets ordinary ones. */
export function plainValue(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(plainValue);
  if (typeof v === 'object' && v !== null)
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plainValue(x)]));
  return v;
}
