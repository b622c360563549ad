// Validation against the schema with ajv, and ajv's errors turned into messages that say what
// the schema accepts ("an integer >= 1", "one of 'sgd', 'adam'") and suggest near misses.
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import { isObject, type JsonPath } from './json';
import type { Issue, Reporter } from './positions';
import { CONFIG_SCHEMA, type SchemaNode } from './schema';
import { suggest } from './suggest';
import { firstSentence, inWhere, quoteList, show, where } from './wording';

/** Editor-only keywords of the schema, known to ajv so that strict mode accepts them. */
const EDITOR_KEYWORDS = ['markdownDescription', 'enumDescriptions', 'markdownEnumDescriptions', 'defaultSnippets'];

let ajvInstance: Ajv | undefined;
let compiledSchema: ValidateFunction | undefined;
/** Validators of parts of the schema (the nodes a sweep's paths name), by node. */
const compiledParts = new WeakMap<SchemaNode, ValidateFunction>();

function ajv(): Ajv {
  if (!ajvInstance) {
    ajvInstance = new Ajv({ allErrors: true, verbose: true, allowUnionTypes: true, strict: true });
    ajvInstance.addVocabulary(EDITOR_KEYWORDS);
  }
  return ajvInstance;
}

function schemaValidator(): ValidateFunction {
  compiledSchema ??= ajv().compile(CONFIG_SCHEMA);
  return compiledSchema;
}

export function checkSchema(report: Reporter, value: unknown): void {
  const validate = schemaValidator();
  if (validate(value)) return;
  reportErrors(report, validate.errors ?? [], value, []);
}

function reportErrors(report: Reporter, errors: ErrorObject[], root: unknown, prefix: JsonPath): void {
  for (const e of errors) {
    // Past what the report lists, only where the errors are counts: no message is worded.
    if (report.full) {
      if (e.keyword !== 'if') report.add({ path: [...prefix, ...pointerToPath(e.instancePath, root)], message: '' });
      continue;
    }
    const issue = schemaIssue(e, root, prefix);
    if (issue) report.add(issue);
  }
}

/**
 * Checks `value` against one node of the schema (its `$ref`s resolved through the schema's
 * definitions), reporting at `at`: the value's place in the file.
 */
export function checkValue(report: Reporter, node: SchemaNode, value: unknown, at: JsonPath): void {
  let validate = compiledParts.get(node);
  if (!validate) {
    validate = ajv().compile({ ...node, definitions: (CONFIG_SCHEMA as SchemaNode).definitions });
    compiledParts.set(node, validate);
  }
  if (validate(value)) return;
  reportErrors(report, validate.errors ?? [], value, at);
}

function schemaIssue(e: ErrorObject, root: unknown, prefix: JsonPath = []): Issue | undefined {
  const path = [...prefix, ...pointerToPath(e.instancePath, root)];
  const schema = (e.parentSchema ?? {}) as SchemaNode;
  switch (e.keyword) {
    case 'if':
      return undefined; // "must match then": the branch's own errors say what is wrong
    case 'additionalProperties':
      return unknownKey(path, String(e.params.additionalProperty), Object.keys(schema.properties ?? {}));
    case 'required':
      return missingKey(path, String(e.params.missingProperty), schema.properties?.[e.params.missingProperty]);
    case 'enum':
      return badEnum(path, e.data, schema.enum ?? []);
    case 'const':
      return badEnum(path, e.data, [e.params.allowedValue]);
    case 'type':
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
    case 'minItems':
    case 'maxItems':
    case 'minLength':
      return { path, message: `${where(path)} must be ${expectation(schema)}, got ${show(e.data)}` };
    case 'minProperties':
      return { path, message: `${where(path)} must not be empty` };
    default:
      return { path, message: `${where(path)} ${e.message ?? 'is invalid'}` };
  }
}

/** ajv's JSON pointer as a path, with array indices as numbers. */
function pointerToPath(pointer: string, root: unknown): JsonPath {
  if (pointer === '') return [];
  const path: JsonPath = [];
  let value = root;
  for (const raw of pointer.slice(1).split('/')) {
    const seg = raw.replace(/~1/g, '/').replace(/~0/g, '~');
    const key = Array.isArray(value) ? Number(seg) : seg;
    path.push(key);
    value = isObject(value) || Array.isArray(value) ? (value as Record<string | number, unknown>)[key] : undefined;
  }
  return path;
}

function unknownKey(objectPath: JsonPath, key: string, allowed: string[]): Issue {
  const keys = allowed.filter((k) => !k.startsWith('$'));
  const guess = suggest(key, keys);
  const hint = guess ? `did you mean '${guess}'?` : `allowed keys: ${keys.join(', ')}`;
  return { path: [...objectPath, key], target: 'key', message: `unknown key '${key}' ${inWhere(objectPath)}; ${hint}` };
}

function missingKey(objectPath: JsonPath, key: string, schema: SchemaNode | undefined): Issue {
  const base = `missing required key '${key}' ${inWhere(objectPath)}`;
  let detail = '';
  if (schema?.enum) detail = `, one of ${quoteList(schema.enum)}`;
  else if (schema?.description) detail = `: ${firstSentence(schema.description)}`;
  return { path: objectPath, target: 'missing', message: base + detail };
}

function badEnum(path: JsonPath, value: unknown, allowed: unknown[]): Issue {
  const guess = typeof value === 'string' ? suggest(value, allowed.map(String)) : undefined;
  const message = `${where(path)} must be one of ${quoteList(allowed)}, got ${show(value)}`;
  return { path, message: guess ? `${message}; did you mean '${guess}'?` : message };
}

/** What a schema accepts, in words: "an integer >= 1", "a number in (-1, 1)", "an array of 3 integers >= 1". */
function expectation(schema: SchemaNode): string {
  if (schema.enum) return `one of ${quoteList(schema.enum)}`;
  const types = Array.isArray(schema.type) ? schema.type : schema.type ? [schema.type] : [];
  return types.map((t) => describeType(t, schema)).join(' or ') || 'valid';
}

function describeType(type: string, schema: SchemaNode): string {
  switch (type) {
    case 'integer':
      return `an integer${range(schema)}`;
    case 'number':
      return `a number${range(schema)}`;
    case 'string':
      return schema.minLength ? 'a non-empty string' : 'a string';
    case 'boolean':
      return 'true or false';
    case 'array':
      return describeArray(schema);
    case 'object':
      return typeof schema.additionalProperties === 'object'
        ? `an object mapping names to ${plural(schema.additionalProperties)}`
        : 'an object';
    default:
      return type;
  }
}

function describeArray(schema: SchemaNode): string {
  const of = schema.items ? plural(schema.items) : 'values';
  const { minItems, maxItems } = schema;
  if (minItems !== undefined && minItems === maxItems) return `an array of ${minItems} ${of}`;
  if (maxItems !== undefined)
    return minItems ? `an array of ${minItems} to ${maxItems} ${of}` : `an array of at most ${maxItems} ${of}`;
  return minItems ? `a non-empty array of ${of}` : `an array of ${of}`;
}

function plural(schema: SchemaNode): string {
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  if (type === 'integer') return `integers${range(schema)}`;
  if (type === 'number') return `numbers${range(schema)}`;
  return type ? `${type}s` : 'values';
}

function range(s: SchemaNode): string {
  const lo = s.exclusiveMinimum ?? s.minimum;
  const hi = s.exclusiveMaximum ?? s.maximum;
  const loOpen = s.exclusiveMinimum !== undefined;
  const hiOpen = s.exclusiveMaximum !== undefined;
  if (lo !== undefined && hi !== undefined) return ` in ${loOpen ? '(' : '['}${lo}, ${hi}${hiOpen ? ')' : ']'}`;
  if (lo !== undefined) return ` ${loOpen ? '>' : '>='} ${lo}`;
  if (hi !== undefined) return ` ${hiOpen ? '<' : '<='} ${hi}`;
  return '';
}
