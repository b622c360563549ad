// Reads and checks `*.layerrot.json` training configs: JSON with comments, validated against
// python/layer_rotation/layerrot.schema.json and by the semantic checks below, every error placed on the
// exact JSON node (1-based line and column, offset and length), and the defaults filled in.
// No `vscode` here: the extension maps ConfigError to diagnostics, the CLI prints formatError.

import * as fs from 'node:fs';
import * as nodePath from 'node:path';
import Ajv, { type AnySchemaObject, type ErrorObject, type ValidateFunction } from 'ajv';
import { type Node, type ParseError, getNodeValue, parseTree, printParseErrorCode } from 'jsonc-parser';
import schemaJson from '../../../python/layer_rotation/layerrot.schema.json';
import type {
  BackendName,
  PytorchSpec,
  Checked,
  ConfigError,
  DatasetCommon,
  DatasetSpec,
  MlpSpec,
  ModelCommon,
  ModelSpec,
  MonitoringSpec,
  OptimizerSpec,
  ResnetSpec,
  ScheduleSpec,
  StoppingSpec,
  TrainingConfig,
  VggSpec,
} from './types';

/** A path into the JSON document: object keys and array indices. */
export type JsonPath = (string | number)[];

// ---------------------------------------------------------------------------------------------
// Defaults: the one place they are written down (the schema's `default`s must agree; a test checks).

type Fixed<T, K extends keyof T> = Omit<T, K | keyof ModelCommon>;

export interface ConfigDefaults {
  seed: number;
  engine: TrainingConfig['engine'];
  pytorch: PytorchSpec;
  backend: BackendName;
  dataset: Pick<DatasetCommon, 'validationSplit' | 'normalize'>;
  model: {
    common: ModelCommon;
    mlp: Fixed<MlpSpec, 'type' | 'hidden'>;
    vgg: Fixed<VggSpec, 'type' | 'filters'>;
    resnet: Fixed<ResnetSpec, 'type' | 'depth'>;
  };
  optimizer: Omit<OptimizerSpec, 'type' | 'learningRate' | 'layerMultipliers'>;
  schedule: Pick<ScheduleSpec, 'warmupEpochs'>;
  monitoring: Omit<MonitoringSpec, 'everySteps'>;
}

export const CONFIG_DEFAULTS: ConfigDefaults = deepFreeze({
  seed: 0,
  engine: 'tfjs',
  pytorch: { device: 'auto', processes: 1 },
  backend: 'auto',
  dataset: { validationSplit: 0, normalize: true },
  model: {
    common: { kernelInitializer: 'he_normal', useBias: true },
    mlp: { activation: 'relu' },
    vgg: { convsPerStage: 2, kernelSize: 3, batchNorm: true, dense: [] },
    resnet: { filters: [16, 32, 64], batchNorm: true },
  },
  optimizer: {
    layca: false,
    momentum: 0,
    nesterov: false,
    beta1: 0.9,
    beta2: 0.999,
    rho: 0.9,
    initialAccumulatorValue: 0.1,
    epsilon: 1e-8,
    weightDecay: 0,
    alpha: 0,
  },
  schedule: { warmupEpochs: 0 },
  monitoring: { recordsPerEpoch: 10, target: 1, lagMargin: 0.2 },
});

/** The JSON Schema of `*.layerrot.json` files (the parsed python/layer_rotation/layerrot.schema.json). */
export const CONFIG_SCHEMA: Readonly<AnySchemaObject> = schemaJson;

/** The run name used when `name` is absent: the file name without `.layerrot.json`. */
export function defaultConfigName(file: string): string {
  const base = nodePath.basename(file);
  const stripped = /\.layerrot\.json$/i.test(base)
    ? base.replace(/\.layerrot\.json$/i, '')
    : base.replace(/\.jsonc?$/i, '');
  return stripped || 'config';
}

// ---------------------------------------------------------------------------------------------
// Public entry points.

/** Parses and checks config text (JSON with comments and trailing commas) from `file`. */
export function parseConfigText(text: string, file: string): Checked {
  const source = text.startsWith('\uFEFF') ? text.slice(1) : text;
  const parseErrors: ParseError[] = [];
  const root = parseTree(source, parseErrors, { allowTrailingComma: true, disallowComments: false });
  const report = new Reporter(file, source, root);
  if (!root || parseErrors.length > 0) {
    reportSyntaxErrors(report, source, parseErrors, root);
    return report.result();
  }
  const value = plainValue(getNodeValue(root));
  checkDuplicateKeys(report, root, []);
  checkSchema(report, value);
  checkSemantics(report, value);
  return report.result(() => withDefaults(value as RawConfig, file));
}

/** Reads and checks a config file; an unreadable file is an error at 1:1 giving the OS reason. */
export function loadConfigFile(file: string): Checked {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const message = `cannot read the config file: ${(err as Error).message}`;
    return {
      ok: false,
      errors: [{ file, line: 1, column: 1, offset: 0, length: 0, path: [], message, severity: 'error' }],
    };
  }
  return parseConfigText(text, file);
}

/** `file:line:col: message`, with ` (warning)` appended for warnings. */
export function formatError(e: ConfigError): string {
  return `${e.file}:${e.line}:${e.column}: ${e.message}${e.severity === 'warning' ? ' (warning)' : ''}`;
}

// ---------------------------------------------------------------------------------------------
// Kernel layers: names and the config nodes that define them, in forward order.

interface KernelLayer {
  name: string;
  source: JsonPath;
}

/** Names of the model's kernel layers (dense and conv weights), in forward order. */
export function kernelLayerNames(model: ModelSpec): string[] {
  return kernelLayers(model).map((l) => l.name);
}

/** For each kernel layer (same order as kernelLayerNames), the JSON path of the config node defining it. */
export function layerSourcePaths(model: ModelSpec): JsonPath[] {
  return kernelLayers(model).map((l) => l.source);
}

/** n, the blocks per stage of a ResNet of depth 6n+2; undefined when depth is not of that form. */
export function resnetBlocksPerStage(depth: number): number | undefined {
  const n = (depth - 2) / 6;
  return Number.isInteger(n) && n >= 1 ? n : undefined;
}

/** The model spec with its defaults filled in (the spec must be valid). */
export function withModelDefaults(model: Pick<ModelSpec, 'type'> & Partial<ModelSpec>): ModelSpec {
  const d = structuredClone(CONFIG_DEFAULTS.model);
  return { ...d.common, ...d[model.type], ...model } as ModelSpec;
}

function kernelLayers(model: ModelSpec): KernelLayer[] {
  switch (model.type) {
    case 'mlp':
      return mlpLayers(model);
    case 'vgg':
      return vggLayers(model);
    case 'resnet':
      return resnetLayers(model);
  }
}

function mlpLayers(model: MlpSpec): KernelLayer[] {
  const hidden = model.hidden.map((_, i) => ({ name: `dense${i + 1}`, source: ['model', 'hidden', i] }));
  return [...hidden, { name: 'output', source: ['model'] }];
}

function vggLayers(model: VggSpec): KernelLayer[] {
  const layers: KernelLayer[] = [];
  model.filters.forEach((_, s) => {
    const convs = typeof model.convsPerStage === 'number' ? model.convsPerStage : (model.convsPerStage[s] ?? 0);
    for (let i = 1; i <= convs; i++) layers.push({ name: `conv${s + 1}_${i}`, source: ['model', 'filters', s] });
  });
  model.dense.forEach((_, i) => layers.push({ name: `fc${i + 1}`, source: ['model', 'dense', i] }));
  layers.push({ name: 'output', source: ['model'] });
  return layers;
}

function resnetLayers(model: ResnetSpec): KernelLayer[] {
  const n = Math.max(0, Math.floor((model.depth - 2) / 6));
  const source = ['model', 'depth'];
  const layers: KernelLayer[] = [{ name: 'conv1', source }];
  for (let s = 1; s <= 3; s++) {
    for (let b = 1; b <= n; b++) {
      layers.push({ name: `s${s}b${b}_conv1`, source }, { name: `s${s}b${b}_conv2`, source });
      if (s >= 2 && b === 1) layers.push({ name: `s${s}b1_shortcut`, source });
    }
  }
  layers.push({ name: 'output', source: ['model'] });
  return layers;
}

// ---------------------------------------------------------------------------------------------
// Filling in defaults (only for configs without errors).

interface RawConfig {
  name?: string;
  seed?: number;
  engine?: TrainingConfig['engine'];
  pytorch?: Partial<PytorchSpec>;
  backend?: BackendName;
  dataset: Partial<DatasetSpec>;
  model: Pick<ModelSpec, 'type'> & Partial<ModelSpec>;
  optimizer: Partial<OptimizerSpec>;
  schedule: Partial<ScheduleSpec>;
  monitoring?: Partial<MonitoringSpec>;
  stopping?: StoppingSpec;
}

function withDefaults(raw: RawConfig, file: string): TrainingConfig {
  const d = structuredClone(CONFIG_DEFAULTS);
  return {
    name: raw.name ?? defaultConfigName(file),
    seed: raw.seed ?? d.seed,
    engine: raw.engine ?? d.engine,
    pytorch: { ...d.pytorch, ...raw.pytorch },
    backend: raw.backend ?? d.backend,
    dataset: { name: raw.dataset.name, ...d.dataset, ...raw.dataset } as DatasetSpec,
    model: withModelDefaults(raw.model),
    optimizer: {
      type: raw.optimizer.type,
      learningRate: raw.optimizer.learningRate,
      ...d.optimizer,
      ...raw.optimizer,
    } as OptimizerSpec,
    schedule: { ...d.schedule, ...raw.schedule } as ScheduleSpec,
    monitoring: { ...d.monitoring, ...raw.monitoring },
    stopping: { ...raw.stopping },
  };
}

// ---------------------------------------------------------------------------------------------
// Positions and the collected errors.

type Severity = ConfigError['severity'];
/** Which range to mark: the value at the path, the key naming it, or (missing key) the object. */
type Target = 'value' | 'key' | 'missing';

interface Issue {
  path: JsonPath;
  message: string;
  target?: Target;
  severity?: Severity;
}

class Reporter {
  private readonly errors: ConfigError[] = [];
  private readonly lineStarts: number[];

  constructor(
    private readonly file: string,
    text: string,
    private readonly root: Node | undefined,
  ) {
    this.lineStarts = lineStartsOf(text);
  }

  add(issue: Issue): void {
    const { offset, length } = this.rangeOf(issue.path, issue.target ?? 'value');
    this.addRange(offset, length, issue.path, issue.message, issue.severity ?? 'error');
  }

  addRange(offset: number, length: number, path: JsonPath, message: string, severity: Severity = 'error'): void {
    const { line, column } = this.position(offset);
    this.errors.push({ file: this.file, line, column, offset, length, path, message, severity });
  }

  /** Whether an error (not a warning) was reported at or below this path. */
  hasErrorsUnder(prefix: JsonPath): boolean {
    return this.errors.some((e) => e.severity === 'error' && prefix.every((seg, i) => e.path[i] === seg));
  }

  position(offset: number): { line: number; column: number } {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid] <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - this.lineStarts[lo] + 1 };
  }

  result(config?: () => TrainingConfig): Checked {
    const errors = dedupe(this.errors).sort((a, b) => a.offset - b.offset || a.length - b.length);
    const ok = errors.every((e) => e.severity !== 'error');
    return ok && config ? { ok: true, config: config(), errors } : { ok: false, errors };
  }

  private rangeOf(path: JsonPath, target: Target): { offset: number; length: number } {
    if (!this.root) return { offset: 0, length: 0 };
    if (target !== 'value') {
      const key = propertyAt(this.root, path)?.children?.[0];
      if (key) return { offset: key.offset, length: key.length };
      if (target === 'missing') {
        const node = nodeAt(this.root, path) ?? this.root;
        return { offset: node.offset, length: 1 };
      }
    }
    const node = nearestNode(this.root, path);
    return { offset: node.offset, length: node.length };
  }
}

function lineStartsOf(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) {
    const ch = text.charCodeAt(i);
    if (ch === 10 || (ch === 13 && text.charCodeAt(i + 1) !== 10)) starts.push(i + 1);
  }
  return starts;
}

function dedupe(errors: ConfigError[]): ConfigError[] {
  const seen = new Set<string>();
  return errors.filter((e) => {
    const key = `${e.offset}:${e.length}:${e.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** The child of an object (the last property with that key, as JSON.parse keeps) or array. */
function childNode(node: Node, seg: string | number): Node | undefined {
  if (node.type === 'array') return typeof seg === 'number' ? node.children?.[seg] : undefined;
  if (node.type !== 'object') return undefined;
  return lastProperty(node, String(seg))?.children?.[1];
}

function lastProperty(object: Node, key: string): Node | undefined {
  let found: Node | undefined;
  for (const prop of object.children ?? []) if (prop.children?.[0]?.value === key) found = prop;
  return found;
}

function nodeAt(root: Node, path: JsonPath): Node | undefined {
  let node: Node | undefined = root;
  for (const seg of path) node = node && childNode(node, seg);
  return node;
}

/** The node at the path, or its nearest existing ancestor. */
function nearestNode(root: Node, path: JsonPath): Node {
  let node = root;
  for (const seg of path) {
    const child = childNode(node, seg);
    if (!child) break;
    node = child;
  }
  return node;
}

/** The property node (key and value) for the last segment of the path, when its parent is an object. */
function propertyAt(root: Node, path: JsonPath): Node | undefined {
  if (path.length === 0) return undefined;
  const parent = nodeAt(root, path.slice(0, -1));
  const key = path[path.length - 1];
  return parent?.type === 'object' ? lastProperty(parent, String(key)) : undefined;
}

// ---------------------------------------------------------------------------------------------
// Syntax errors.

const SYNTAX_MESSAGES: Record<string, string> = {
  InvalidSymbol: 'unexpected text',
  InvalidNumberFormat: 'invalid number',
  PropertyNameExpected: 'expected a property name in double quotes',
  ValueExpected: 'expected a value',
  ColonExpected: "expected ':' after the property name",
  CommaExpected: "expected ',' between entries",
  CloseBraceExpected: "expected '}' to close the object",
  CloseBracketExpected: "expected ']' to close the array",
  EndOfFileExpected: 'unexpected text after the end of the config object',
  InvalidCommentToken: 'invalid comment',
  UnexpectedEndOfComment: "unterminated block comment (missing '*/')",
  UnexpectedEndOfString: 'unterminated string (missing closing double quote)',
  UnexpectedEndOfNumber: 'incomplete number',
  InvalidUnicode: 'invalid unicode escape in string',
  InvalidEscapeCharacter: 'invalid escape character in string',
  InvalidCharacter: 'invalid character in string (control characters must be escaped)',
};

function reportSyntaxErrors(report: Reporter, text: string, errors: ParseError[], root: Node | undefined): void {
  if (!root && errors.every((e) => printParseErrorCode(e.error) === 'ValueExpected')) {
    const message = 'the file holds no JSON value; expected an object with dataset, model, optimizer and schedule';
    report.addRange(0, 0, [], message);
    return;
  }
  let previous: ParseError | undefined;
  for (const e of errors) {
    // The parser recovers cleanly from a missing ',' or ':'; after other errors (or a second
    // error at the same spot), what follows is mostly a consequence of the first: stop there.
    if (previous && (previous.offset === e.offset || !CLEAN_RECOVERY.has(printParseErrorCode(previous.error)))) break;
    report.addRange(e.offset, e.length, [], `syntax error: ${syntaxMessage(e, text)}`);
    previous = e;
  }
}

const CLEAN_RECOVERY = new Set(['CommaExpected', 'ColonExpected']);

function syntaxMessage(e: ParseError, text: string): string {
  const code = printParseErrorCode(e.error);
  const base = SYNTAX_MESSAGES[code] ?? code;
  const digits = /\d/.test(text[e.offset - 1] ?? '') && /\d/.test(text[e.offset] ?? '');
  if (code === 'CommaExpected' && digits) return 'invalid number: JSON numbers cannot have leading zeros';
  if (code !== 'InvalidSymbol') return base;
  const snippet = text.slice(e.offset, e.offset + Math.min(e.length, 20));
  return `${base} '${snippet}'${symbolHint(snippet)}`;
}

function symbolHint(snippet: string): string {
  const literal = suggest(snippet, ['true', 'false', 'null']);
  if (literal) return `; did you mean '${literal}'?`;
  if (/^[+-]?(NaN|Infinity)$/.test(snippet)) return ' (JSON has no NaN or Infinity)';
  return /^[A-Za-z_$]/.test(snippet) ? ' (keys and strings need double quotes)' : '';
}

function checkDuplicateKeys(report: Reporter, node: Node, path: JsonPath): void {
  if (node.type === 'array') {
    node.children?.forEach((child, i) => checkDuplicateKeys(report, child, [...path, i]));
    return;
  }
  if (node.type !== 'object') return;
  const seen = new Map<string, Node>();
  for (const prop of node.children ?? []) {
    const [keyNode, valueNode] = prop.children ?? [];
    if (!keyNode) continue;
    const key = String(keyNode.value);
    const first = seen.get(key);
    if (first) {
      const { line } = report.position(first.offset);
      const message = `duplicate key '${key}' ${inWhere(path)} (also on line ${line}); only the last one counts`;
      report.addRange(keyNode.offset, keyNode.length, [...path, key], message);
    } else seen.set(key, keyNode);
    if (valueNode) checkDuplicateKeys(report, valueNode, [...path, key]);
  }
}

// ---------------------------------------------------------------------------------------------
// Schema validation and the mapping of ajv's errors to messages.

/** Editor-only keywords of the schema, known to ajv so that strict mode accepts them. */
const EDITOR_KEYWORDS = ['markdownDescription', 'enumDescriptions', 'markdownEnumDescriptions', 'defaultSnippets'];

let compiledSchema: ValidateFunction | undefined;

function schemaValidator(): ValidateFunction {
  if (!compiledSchema) {
    const ajv = new Ajv({ allErrors: true, verbose: true, allowUnionTypes: true, strict: true });
    ajv.addVocabulary(EDITOR_KEYWORDS);
    compiledSchema = ajv.compile(CONFIG_SCHEMA);
  }
  return compiledSchema;
}

/** The parts of a JSON Schema the messages read. */
interface SchemaNode {
  type?: string | string[];
  enum?: unknown[];
  properties?: Record<string, SchemaNode>;
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
}

function checkSchema(report: Reporter, value: unknown): void {
  const validate = schemaValidator();
  if (validate(value)) return;
  for (const e of validate.errors ?? []) {
    const issue = schemaIssue(e, value);
    if (issue) report.add(issue);
  }
}

function schemaIssue(e: ErrorObject, root: unknown): Issue | undefined {
  const path = pointerToPath(e.instancePath, root);
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
  if (maxItems !== undefined) return `an array of ${minItems ?? 0} to ${maxItems} ${of}`;
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

// ---------------------------------------------------------------------------------------------
// Semantic checks: what the schema cannot say. They read the raw value defensively, since it
// may also have schema errors, and leave to the schema what it already reports.

type Json = Record<string, unknown>;

function checkSemantics(report: Reporter, raw: unknown): void {
  if (!isObject(raw)) return;
  const dataset = objectAt(raw, 'dataset');
  const model = objectAt(raw, 'model');
  const optimizer = objectAt(raw, 'optimizer');
  const schedule = objectAt(raw, 'schedule');
  const monitoring = objectAt(raw, 'monitoring');
  if (model?.type === 'resnet') checkResnetDepth(report, model.depth);
  if (model?.type === 'vgg') checkVggStages(report, model);
  if (model && dataset) checkInputShape(report, model, dataset);
  if (schedule) checkSchedule(report, schedule);
  if (optimizer) checkOptimizerOptions(report, optimizer);
  if (monitoring) checkMonitoring(report, monitoring);
  checkEngineOptions(report, raw);
  // Layer counts and names are only known for a valid model.
  const multipliersCheckable =
    !report.hasErrorsUnder(['model']) && !report.hasErrorsUnder(['optimizer', 'layerMultipliers']);
  if (model && optimizer && multipliersCheckable) checkLayerMultipliers(report, model, optimizer);
}

/** Options of one engine set while the other trains (the setting layerRotation.engine may still pick it). */
function checkEngineOptions(report: Reporter, raw: Json): void {
  const engine = raw.engine ?? CONFIG_DEFAULTS.engine;
  if (engine === 'pytorch' && 'backend' in raw) {
    const message =
      'backend chooses the tfjs backend and is ignored by the pytorch engine (its device is pytorch.device)';
    report.add({ path: ['backend'], target: 'key', message, severity: 'warning' });
  }
  if (engine === 'tfjs' && isObject(raw.pytorch)) {
    const message = 'pytorch options apply to the pytorch engine only: set "engine": "pytorch" to use them';
    report.add({ path: ['pytorch'], target: 'key', message, severity: 'warning' });
  }
}

function checkResnetDepth(report: Reporter, depth: unknown): void {
  if (!isInteger(depth) || depth < 8 || resnetBlocksPerStage(depth) !== undefined) return;
  const below = depth - ((depth - 2) % 6);
  const message =
    `model.depth ${depth} is not a valid ResNet depth: it must be 6n+2 (8, 14, 20, 26, 32, 38, 44, 56, 110, ...); ` +
    `nearest valid depths: ${below} or ${below + 6}`;
  report.add({ path: ['model', 'depth'], message });
}

function checkVggStages(report: Reporter, model: Json): void {
  const { filters, convsPerStage } = model;
  if (!Array.isArray(filters) || !Array.isArray(convsPerStage) || convsPerStage.length === filters.length) return;
  const message =
    `model.convsPerStage has ${count(convsPerStage.length, 'entry', 'entries')} but filters has ` +
    `${count(filters.length, 'stage')}; give one number per stage, or a single number for all stages`;
  report.add({ path: ['model', 'convsPerStage'], message });
}

function checkInputShape(report: Reporter, model: Json, dataset: Json): void {
  const cnn = model.type === 'vgg' || model.type === 'resnet';
  const shape = dataset.inputShape;
  if (!cnn || dataset.name !== 'synthetic' || !Array.isArray(shape) || shape.length === 3) return;
  const message =
    `a ${model.type} model needs image inputs: dataset.inputShape must be [height, width, channels], ` +
    `got ${count(shape.length, 'dimension')}`;
  report.add({ path: ['dataset', 'inputShape'], message });
}

function checkSchedule(report: Reporter, schedule: Json): void {
  const epochs = isInteger(schedule.epochs) ? schedule.epochs : undefined;
  const decay = objectAt(schedule, 'decay');
  if (decay && Array.isArray(decay.epochs)) checkDecayEpochs(report, decay.epochs, epochs);
  const warmup = schedule.warmupEpochs;
  if (epochs !== undefined && isNumber(warmup) && warmup >= epochs) {
    const message = `schedule.warmupEpochs ${warmup} is not below schedule.epochs ${epochs}: the warmup never ends`;
    report.add({ path: ['schedule', 'warmupEpochs'], message, severity: 'warning' });
  }
}

function checkDecayEpochs(report: Reporter, decayEpochs: unknown[], epochs: number | undefined): void {
  let previous: number | undefined;
  decayEpochs.forEach((e, i) => {
    if (!isInteger(e)) return;
    const path = ['schedule', 'decay', 'epochs', i];
    if (previous !== undefined && e <= previous) {
      const message = `schedule.decay.epochs must be strictly increasing: ${e} comes after ${previous}`;
      report.add({ path, message });
    } else if (epochs !== undefined && e >= epochs) {
      const message = `schedule.decay.epochs[${i}] = ${e} never applies: training stops after schedule.epochs = ${epochs} epochs`;
      report.add({ path, message, severity: 'warning' });
    }
    previous = previous === undefined ? e : Math.max(previous, e);
  });
}

/** Which optimizer uses each option (as documented in types.ts). */
const OPTION_OWNERS: Record<string, string[]> = {
  momentum: ['sgd'],
  nesterov: ['sgd'],
  beta1: ['adam'],
  beta2: ['adam'],
  rho: ['rmsprop'],
  initialAccumulatorValue: ['adagrad'],
  epsilon: ['adam', 'rmsprop', 'adagrad'],
};

function checkOptimizerOptions(report: Reporter, optimizer: Json): void {
  const type = optimizer.type;
  if (typeof type !== 'string' || !Object.values(OPTION_OWNERS).some((owners) => owners.includes(type))) return;
  for (const [option, owners] of Object.entries(OPTION_OWNERS)) {
    if (!(option in optimizer) || owners.includes(type)) continue;
    const message = `optimizer.${option} is ignored by ${type} (it applies to ${owners.join(', ')})`;
    report.add({ path: ['optimizer', option], target: 'key', message, severity: 'warning' });
  }
  if (type === 'sgd' && optimizer.nesterov === true && !(isNumber(optimizer.momentum) && optimizer.momentum > 0)) {
    const message = 'optimizer.nesterov has no effect without momentum: set optimizer.momentum > 0';
    report.add({ path: ['optimizer', 'nesterov'], message, severity: 'warning' });
  }
}

function checkMonitoring(report: Reporter, monitoring: Json): void {
  if (!('everySteps' in monitoring) || !('recordsPerEpoch' in monitoring)) return;
  const message = 'monitoring.recordsPerEpoch is ignored because monitoring.everySteps is set';
  report.add({ path: ['monitoring', 'recordsPerEpoch'], target: 'key', message, severity: 'warning' });
}

function checkLayerMultipliers(report: Reporter, model: Json, optimizer: Json): void {
  const multipliers = optimizer.layerMultipliers;
  if (!Array.isArray(multipliers) && !isObject(multipliers)) return;
  const names = kernelLayerNames(withModelDefaults(model as Pick<ModelSpec, 'type'>));
  const path = ['optimizer', 'layerMultipliers'];
  if (Array.isArray(multipliers)) {
    if (multipliers.length === names.length) return;
    const message =
      `optimizer.layerMultipliers has ${count(multipliers.length, 'entry', 'entries')} but the model has ` +
      `${count(names.length, 'kernel layer')} (${nameList(names)}); give one multiplier per kernel layer ` +
      `in forward order, or an object {"layerName": multiplier}`;
    report.add({ path, message });
    return;
  }
  for (const key of Object.keys(multipliers)) {
    if (names.includes(key)) continue;
    const guess = suggest(key, names);
    const hint = guess ? `did you mean '${guess}'?` : `the model's kernel layers are ${nameList(names)}`;
    report.add({
      path: [...path, key],
      target: 'key',
      message: `unknown layer '${key}' in optimizer.layerMultipliers; ${hint}`,
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Suggestions ("did you mean").

const ALIASES: Record<string, string> = { lr: 'learningRate', wd: 'weightDecay', bs: 'batchSize', optim: 'optimizer' };

/** The candidate closest to `word` (ignoring case, '_' and '-'), if it is a near miss. */
export function suggest(word: string, candidates: readonly string[]): string | undefined {
  const alias = ALIASES[word.toLowerCase()];
  if (alias && candidates.includes(alias)) return alias;
  const w = normalizeName(word);
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const d = editDistance(w, normalizeName(c));
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  if (best === undefined) return undefined;
  const limit = Math.max(1, Math.floor(normalizeName(best).length / 3));
  return bestDistance <= limit && bestDistance < w.length ? best : undefined;
}

function normalizeName(s: string): string {
  return s.toLowerCase().replace(/[_\-\s]/g, '');
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps. */
function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

// ---------------------------------------------------------------------------------------------
// Small helpers.

/** jsonc-parser builds objects without a prototype; the config gets ordinary ones. */
function plainValue(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(plainValue);
  if (typeof v === 'object' && v !== null)
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plainValue(x)]));
  return v;
}

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isNumber(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

function isInteger(v: unknown): v is number {
  return Number.isInteger(v);
}

function objectAt(parent: Json, key: string): Json | undefined {
  const v = parent[key];
  return isObject(v) ? v : undefined;
}

/** "optimizer.learningRate", "model.hidden[0]"; the root is "the config". */
function where(path: JsonPath): string {
  if (path.length === 0) return 'the config';
  return path.map((seg, i) => (typeof seg === 'number' ? `[${seg}]` : i === 0 ? seg : `.${seg}`)).join('');
}

function inWhere(path: JsonPath): string {
  return path.length === 0 ? 'at the top level' : `in ${where(path)}`;
}

function show(v: unknown): string {
  if (typeof v === 'string') return `'${v}'`;
  if (Array.isArray(v)) return v.length === 0 ? 'an empty array' : `an array of ${count(v.length, 'item')}`;
  if (isObject(v)) return 'an object';
  return String(v);
}

function quoteList(values: unknown[]): string {
  return values.map((v) => (typeof v === 'string' ? `'${v}'` : String(v))).join(', ');
}

function nameList(names: string[]): string {
  if (names.length <= 12) return names.join(', ');
  return `${names.slice(0, 6).join(', ')}, ..., ${names.slice(-3).join(', ')}`;
}

function count(n: number, singular: string, pluralForm = `${singular}s`): string {
  return `${n} ${n === 1 ? singular : pluralForm}`;
}

function firstSentence(text: string): string {
  const end = text.search(/\.\s/);
  return end < 0 ? text : text.slice(0, end + 1);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}
