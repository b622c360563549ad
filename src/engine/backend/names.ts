// The tfjs backends a config, the CLI or the settings may ask for: the one runtime list of the
// BackendName type (src/engine/config/types.ts), in the order 'auto' tries them.
import type { BackendName } from '../config/types';

export const BACKEND_NAMES = ['auto', 'node-gpu', 'node', 'wasm', 'cpu'] as const satisfies readonly BackendName[];

// Every BackendName is in the list: a compile error otherwise.
type Missing = Exclude<BackendName, (typeof BACKEND_NAMES)[number]>;
const _complete: [Missing] extends [never] ? true : Missing = true;
void _complete;

export function isBackendName(v: unknown): v is BackendName {
  return (BACKEND_NAMES as readonly unknown[]).includes(v);
}
