// Defaults, read from the schema's `default` keywords (no default is written here). A valid
// config is resolved by walking it along the schema: an absent key with a default gets a copy of
// it, a given object is walked in turn (through the if/then branch its discriminator picks), and
// an absent object whose keys are all optional (pytorch, monitoring, stopping) is created so that
// its own defaults apply. The one default the schema cannot hold is the run name's, which comes
// from the file name.
import * as nodePath from 'node:path';
import { isObject, type Json } from './json';
import { CONFIG_SCHEMA, isObjectSchema, propertiesFor, resolveRef, type SchemaNode, schemaAt } from './schema';
import type {
  BackendName,
  DatasetCommon,
  DatasetSpec,
  EngineSetting,
  ModelSpec,
  MonitoringSpec,
  OptimizerSpec,
  PytorchSpec,
  ScheduleSpec,
  TrainingConfig,
} from './types';

/** The schema's defaults by section; the discriminated sections have one entry per variant. */
export interface ConfigDefaults {
  seed: number;
  engine: EngineSetting;
  pytorch: PytorchSpec;
  backend: BackendName;
  dataset: Record<DatasetSpec['name'], Partial<DatasetCommon>>;
  model: { [T in ModelSpec['type']]: Partial<Extract<ModelSpec, { type: T }>> };
  optimizer: Partial<OptimizerSpec>;
  schedule: Partial<ScheduleSpec>;
  monitoring: Partial<MonitoringSpec>;
}

/** Every default of the schema, as a tree (an overview: resolving a config walks the schema itself). */
export const CONFIG_DEFAULTS: ConfigDefaults = deepFreeze(
  defaultsOf(CONFIG_SCHEMA as SchemaNode),
) as unknown as ConfigDefaults;

/** The run name used when `name` is absent: the file name without `.layerrot.json`. */
export function defaultConfigName(file: string): string {
  const base = nodePath.basename(file);
  const stripped = /\.layerrot\.json$/i.test(base)
    ? base.replace(/\.layerrot\.json$/i, '')
    : base.replace(/\.jsonc?$/i, '');
  return stripped || 'config';
}

/** A valid config (as parsed) with every default filled in; `$schema` (for editors) is left out. */
export function resolveConfig(raw: Json, file: string): TrainingConfig {
  const filled = withDefaults(CONFIG_SCHEMA as SchemaNode, raw);
  return { name: defaultConfigName(file), ...filled } as unknown as TrainingConfig;
}

/** The model spec with its defaults filled in (the spec must be valid). */
export function withModelDefaults(model: Pick<ModelSpec, 'type'> & Partial<ModelSpec>): ModelSpec {
  return withDefaults(schemaAt(['model']), model as Json) as unknown as ModelSpec;
}

function withDefaults(schema: SchemaNode, value: Json): Json {
  const out: Json = {};
  for (const [key, prop] of Object.entries(propertiesFor(schema, value))) {
    if (key.startsWith('$')) continue;
    const given = value[key];
    if (given !== undefined) out[key] = isObject(given) && isObjectSchema(prop) ? withDefaults(prop, given) : given;
    else if ('default' in prop) out[key] = structuredClone(prop.default);
    else if (isObjectSchema(prop) && !prop.required?.length) out[key] = withDefaults(prop, {});
  }
  return out;
}

function defaultsOf(schema: SchemaNode): Json {
  const out: Json = {};
  for (const [key, raw] of Object.entries(schema.properties ?? {})) {
    const prop = resolveRef(raw);
    if ('default' in prop) out[key] = structuredClone(prop.default);
    else if (isObjectSchema(prop)) {
      const nested = defaultsOf(prop);
      if (Object.keys(nested).length > 0) out[key] = nested;
    }
  }
  for (const { if: cond, then } of schema.allOf ?? []) {
    const [variant] = Object.values(cond?.properties ?? {}).map((s) => s.const);
    if (typeof variant === 'string' && then) out[variant] = defaultsOf(resolveRef(then));
  }
  return out;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    Object.values(value).forEach(deepFreeze);
    Object.freeze(value);
  }
  return value;
}
