// The cross-field checks a schema cannot say: ResNet depths of the form 6n+2, one convsPerStage
// entry per VGG stage, image inputs for CNNs, decay epochs in order and within the run, options
// of another optimizer or engine, and layerMultipliers that fit the model's kernel layers. They
// read the raw value defensively, since it may also have schema errors, and leave to the schema
// what it already reports.
import { CONFIG_DEFAULTS, withModelDefaults } from './defaults';
import { isInteger, isNumber, isObject, type Json, objectAt } from './json';
import { kernelLayerNames, resnetBlocksPerStage } from './layers';
import type { Reporter } from './positions';
import { schemaEnum } from './schema';
import { sizeProblems } from './size';
import { suggest } from './suggest';
import type { ModelSpec, OptimizerType } from './types';
import { count, nameList } from './wording';

/**
 * The top-level keys whose checks read one another: those below, and the schema's (which has no
 * rule across top-level keys). Every other key is checked on its own. A sweep checks the values of
 * each group's axes together and the groups apart (sweep.ts): a check added here across two
 * groups must join them.
 */
export const COUPLED_KEYS: readonly (readonly string[])[] = [
  ['dataset', 'model', 'optimizer'],
  ['engine', 'backend', 'pytorch'],
];

export function checkSemantics(report: Reporter, raw: unknown): void {
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
  // The model's and the data's size, estimated from a model and dataset the schema accepts.
  if (model && dataset && !report.hasErrorsUnder(['model']) && !report.hasErrorsUnder(['dataset']))
    for (const p of sizeProblems(model, dataset)) report.add({ path: p.path, message: p.message });
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

/** Which optimizer uses each option (as documented in types.ts and in the schema's descriptions). */
const OPTION_OWNERS: Record<string, OptimizerType[]> = {
  momentum: ['sgd'],
  nesterov: ['sgd'],
  beta1: ['adam'],
  beta2: ['adam'],
  rho: ['rmsprop'],
  initialAccumulatorValue: ['adagrad'],
  epsilon: ['adam', 'rmsprop', 'adagrad'],
};

function checkOptimizerOptions(report: Reporter, optimizer: Json): void {
  if (typeof optimizer.type !== 'string' || !schemaEnum(['optimizer', 'type']).includes(optimizer.type)) return;
  const type = optimizer.type as OptimizerType;
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
  const known = new Set(names);
  for (const key of Object.keys(multipliers)) {
    if (known.has(key)) continue;
    const message = () => {
      const guess = suggest(key, names);
      const hint = guess ? `did you mean '${guess}'?` : `the model's kernel layers are ${nameList(names)}`;
      return `unknown layer '${key}' in optimizer.layerMultipliers; ${hint}`;
    };
    report.add({ path: [...path, key], target: 'key', message });
  }
}
