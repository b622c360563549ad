// Reads and checks `*.layerrot.json` training configs: the public entry point of this folder,
// re-exporting what the rest of the extension uses. The schema python/layer_rotation/layerrot.schema.json
// is the one source of the config's shape, defaults, enums and ranges; the modules here:
//   parse.ts          parseConfigText, loadConfigFile, formatError (the checks in order)
//   positions.ts      the Reporter: errors placed on JSON nodes (line, column, offset, length)
//   syntax.ts         syntax errors in words, duplicate keys
//   schema.ts         the schema as data: $refs, if/then branches, enums
//   schema-errors.ts  ajv validation and its errors in words
//   semantics.ts      the cross-field checks a schema cannot say
//   sweep.ts          the sweep block: its paths, its values, every point of its grid
//   defaults.ts       the defaults, read from the schema
//   layers.ts         kernel layer names and the config nodes defining them
//   suggest.ts        did-you-mean
//   json.ts, wording.ts  JSON paths and type guards; the wording shared by messages
// No `vscode` here: the extension maps ConfigError to diagnostics, the CLI prints formatError.

export { CONFIG_DEFAULTS, type ConfigDefaults, defaultConfigName, withModelDefaults } from './defaults';
export type { JsonPath } from './json';
export { kernelLayerNames, layerSourcePaths, resnetBlocksPerStage } from './layers';
export { formatError, loadConfigFile, parseConfigText } from './parse';
export { CONFIG_SCHEMA, schemaEnum } from './schema';
export { suggest } from './suggest';
export {
  applyPoint,
  gridIndices,
  gridSize,
  SWEEP_KEY,
  type SweepAxis,
  sweepAxes,
  sweepNotTrainable,
} from './sweep';
