// JSON values as the checks read them: paths into a document, type guards, and plain objects.

import type { Node } from 'jsonc-parser';

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

/**
 * The value of a parsed tree as ordinary objects and arrays (jsonc-parser's getNodeValue makes
 * objects without a prototype), in one pass; the last of duplicate keys counts, as in JSON.parse.
 * Recursive: the caller has bounded the nesting (syntax.ts MAX_NESTING).
 */
export function plainValue(node: Node): unknown {
  switch (node.type) {
    case 'array':
      return (node.children ?? []).map(plainValue);
    case 'object': {
      const out: Json = {};
      for (const prop of node.children ?? []) {
        const [key, value] = prop.children ?? [];
        if (!key || !value) continue;
        const k = String(key.value);
        const v = plainValue(value);
        // "__proto__" is an own property, never the prototype.
        if (k === '__proto__')
          Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
        else out[k] = v;
      }
      return out;
    }
    default:
      return node.value;
  }
}
