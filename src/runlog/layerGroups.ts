// Layers grouped into blocks by their names, so that a model of hundreds of layers (a
// Transformer's, a ResNet's) reads as a few dozen lines: the block of a layer is its name up to
// and including the first numeric path segment (`bert.encoder.layer.0.attention.self.query` ->
// `bert.encoder.layer.0`, `layer2.1.conv2` -> `layer2.1`, `transformer.h.11.mlp.c_fc` ->
// `transformer.h.11`); a name without one groups by its prefix, the name without its last segment
// (`bert.embeddings.word_embeddings` -> `bert.embeddings`), and a name of one segment (`conv1`,
// `dense_1`, `classifier`) stays alone. Blocks keep the layers' depth order: a block comes where
// its first layer does, its layers in their order. Pure: the webview bundles it (the monitor's
// chart and table draw one line and one row per block, expandable to its layers).

/** Grouping by block: on, off, or on for a run of more than GROUP_ABOVE layers (the default). */
export type GroupMode = 'auto' | 'blocks' | 'layers';
export const GROUP_MODES: readonly GroupMode[] = ['auto', 'blocks', 'layers'];
/** A run of more layers than this is grouped by block unless told otherwise. */
export const GROUP_ABOVE = 32;

/** Path separators of layer names: PyTorch's module paths use dots, Keras' and TensorFlow's slashes. */
const SEPARATOR = /[./]/;

/** The block of a layer's name (see the header); the name itself when it stays alone. */
export function blockKey(name: string): string {
  const parts = name.split(SEPARATOR);
  let at = 0;
  for (let k = 0; k < parts.length; k++) {
    at += parts[k].length;
    // A numeric segment that is not the first (a name "0.weight" has no parent to group under).
    if (k > 0 && /^\d+$/.test(parts[k])) return name.slice(0, at);
    at += 1;
  }
  if (parts.length < 2) return name;
  return name.slice(0, name.length - parts[parts.length - 1].length - 1);
}

/** One block: its key and its layers (indices into the names given, in order). */
export interface LayerBlock {
  key: string;
  layers: number[];
}

/** The blocks of these layer names, in the order of their first layers. */
export function groupLayers(names: readonly string[]): LayerBlock[] {
  const blocks: LayerBlock[] = [];
  const byKey = new Map<string, LayerBlock>();
  names.forEach((name, i) => {
    const key = blockKey(name);
    let b = byKey.get(key);
    if (!b) {
      b = { key, layers: [] };
      byKey.set(key, b);
      blocks.push(b);
    }
    b.layers.push(i);
  });
  return blocks;
}

/** Grouping changes something: fewer blocks than layers, and more than one block. */
export function groupable(blocks: readonly LayerBlock[], layers: number): boolean {
  return blocks.length > 1 && blocks.length < layers;
}

/** Whether a run of `total` layers, in these blocks (of the layers kept), is drawn grouped in this mode. */
export function groupingOn(
  mode: GroupMode | undefined,
  blocks: readonly LayerBlock[],
  kept: number,
  total: number,
): boolean {
  if (!groupable(blocks, kept)) return false;
  if (mode === 'blocks') return true;
  if (mode === 'layers') return false;
  return total > GROUP_ABOVE;
}

// A line of the monitor is a layer (its index, >= 0) or a block (-1 - its index): one number, so
// that hidden and highlighted lines are one set and one value whichever they are.
export const blockLine = (b: number): number => -1 - b;
export const isBlockLine = (id: number): boolean => id < 0;
export const blockOfLine = (id: number): number => -1 - id;

/** What a grouped monitor draws and lists. */
export interface GroupedLines {
  /** The lines, in depth order: each block, or (expanded) its layers; at most `cap`. */
  lines: number[];
  /** The layers among the lines (those of expanded blocks). */
  layers: number[];
  /** Layers matching the filter (when one is given). */
  matches?: number;
  /** Lines left out by the cap. */
  capped: number;
}

/**
 * The lines of a grouped monitor: each block with a layer that matches (every block without a
 * filter), as one line, or as its matching layers when it is expanded (a block of one layer: the
 * layer); at most `cap` lines.
 */
export function groupedLines(
  blocks: readonly LayerBlock[],
  expanded: ReadonlySet<number>,
  match: ((layer: number) => boolean) | null,
  cap: number,
): GroupedLines {
  const lines: number[] = [];
  const layers: number[] = [];
  let matches = 0;
  let capped = 0;
  blocks.forEach((b, k) => {
    const members = match ? b.layers.filter(match) : b.layers;
    matches += members.length;
    if (!members.length) return;
    // (A block of one layer is that layer's line.)
    const add = b.layers.length === 1 || expanded.has(k) ? members : [blockLine(k)];
    for (const id of add) {
      if (lines.length >= cap) {
        capped++;
        continue;
      }
      lines.push(id);
      if (id >= 0) layers.push(id);
    }
  });
  return match ? { lines, layers, matches, capped } : { lines, layers, capped };
}

/** A block's place in depth, for its colour: the mean depth of its layers (`depth[i]`: layer i's index in the run). */
export function blockDepth(block: LayerBlock, depth: (i: number) => number): number {
  let sum = 0;
  for (const i of block.layers) sum += depth(i);
  return block.layers.length ? sum / block.layers.length : 0;
}
