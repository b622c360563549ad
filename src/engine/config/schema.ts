// The JSON Schema of `*.layerrot.json` files, python/layer_rotation/layerrot.schema.json: the one
// source of the config's shape, defaults, enums and ranges. Here it is read as data: `$ref`s
// resolved, and the properties an object allows for given data (the discriminated sections,
// dataset by `name` and model by `type`, add a branch's properties with `allOf` if/then).
import type { AnySchemaObject } from 'ajv';
import schemaJson from '../../../python/layer_rotation/layerrot.schema.json';
import type { Json } from './json';

/** The JSON Schema of `*.layerrot.json` files (the parsed python/layer_rotation/layerrot.schema.json). */
export const CONFIG_SCHEMA: Readonly<AnySchemaObject> = schemaJson;

/** The parts of a JSON Schema that messages and defaults read. */
export interface SchemaNode {
  $ref?: string;
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  default?: unknown;
  properties?: Record<string, SchemaNode>;
  required?: string[];
  allOf?: { if?: SchemaNode; then?: SchemaNode }[];
  items?: SchemaNode;
  additionalProperties?: boolean | SchemaNode;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  minItems?: number;
  maxItems?: number;
  minLength?: number;
  description?: string;
  definitions?: Record<string, SchemaNode>;
}

const ROOT = CONFIG_SCHEMA as SchemaNode;

/** The schema itself, following `$ref`s into the root's definitions. */
export function resolveRef(schema: SchemaNode): SchemaNode {
  let s = schema;
  while (s.$ref) {
    const name = s.$ref.replace(/^#\/definitions\//, '');
    const target = ROOT.definitions?.[name];
    if (!target) throw new Error(`the config schema has no definition for ${s.$ref}`);
    s = target;
  }
  return s;
}

/**
 * The properties (resolved) an object schema allows for `data`: its own, then those of each
 * if/then branch whose condition holds (the first schema of a key wins). Without data, every
 * branch's are added, which is what lookups by name need.
 */
export function propertiesFor(schema: SchemaNode, data?: Json): Record<string, SchemaNode> {
  const props: Record<string, SchemaNode> = {};
  const add = (from: SchemaNode) => {
    for (const [key, prop] of Object.entries(from.properties ?? {})) if (!(key in props)) props[key] = resolveRef(prop);
  };
  add(schema);
  for (const branch of schema.allOf ?? []) {
    if (!branch.then) continue;
    if (data === undefined || (branch.if && conditionHolds(branch.if, data))) {
      add(resolveRef(branch.then));
    }
  }
  return props;
}

/** An if/then condition of the schema: required keys present and `const` discriminators equal. */
function conditionHolds(cond: SchemaNode, data: Json): boolean {
  if (!(cond.required ?? []).every((k) => k in data)) return false;
  return Object.entries(cond.properties ?? {}).every(([k, s]) => {
    if (!('const' in s)) throw new Error(`the config schema's if/then conditions must compare '${k}' with a const`);
    return data[k] === s.const;
  });
}

/** The schema of the config node at a path of keys, e.g. ['model', 'activation'], any branch. */
export function schemaAt(path: readonly string[]): SchemaNode {
  let s = ROOT;
  for (const key of path) {
    const next = propertiesFor(s)[key];
    if (!next) throw new Error(`the config schema has no property ${path.join('.')}`);
    s = next;
  }
  return s;
}

/** The allowed values of the config node at a path, from its `enum`. */
export function schemaEnum(path: readonly string[]): readonly string[] {
  const values = schemaAt(path).enum;
  if (!values?.every((v) => typeof v === 'string')) throw new Error(`${path.join('.')} has no enum of strings`);
  return values as string[];
}

/** Whether a property's schema describes an object whose keys the schema lists (to walk into). */
export function isObjectSchema(schema: SchemaNode): boolean {
  return schema.type === 'object' && (schema.properties !== undefined || schema.allOf !== undefined);
}
