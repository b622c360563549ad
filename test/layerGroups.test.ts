// Layers grouped into blocks by name (src/runlog/layerGroups.ts): the block of the naming schemes
// of Hugging Face Transformers (BERT, GPT-2, Llama: the names below are those the Transformers
// callback reads from `named_modules()` of tiny models built from configs with transformers 5.24),
// torchvision's ResNets, Keras and plain PyTorch; blocks in depth order; when a monitor groups; and
// the lines a grouped monitor draws (blocks, expanded blocks' layers, the filter, the cap).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  blockDepth,
  blockKey,
  blockLine,
  blockOfLine,
  GROUP_ABOVE,
  groupable,
  groupedLines,
  groupingOn,
  groupLayers,
  isBlockLine,
} from '../src/runlog/layerGroups';

const BERT = [
  'bert.embeddings.word_embeddings',
  'bert.embeddings.position_embeddings',
  'bert.embeddings.token_type_embeddings',
  'bert.encoder.layer.0.attention.self.query',
  'bert.encoder.layer.0.attention.self.key',
  'bert.encoder.layer.0.attention.self.value',
  'bert.encoder.layer.0.attention.output.dense',
  'bert.encoder.layer.0.intermediate.dense',
  'bert.encoder.layer.0.output.dense',
  'bert.encoder.layer.1.attention.self.query',
  'bert.encoder.layer.1.attention.self.key',
  'bert.encoder.layer.1.attention.self.value',
  'bert.encoder.layer.1.attention.output.dense',
  'bert.encoder.layer.1.intermediate.dense',
  'bert.encoder.layer.1.output.dense',
  'bert.pooler.dense',
  'classifier',
];
const GPT2 = [
  'transformer.wte',
  'transformer.wpe',
  'transformer.h.0.attn.c_attn',
  'transformer.h.0.attn.c_proj',
  'transformer.h.0.mlp.c_fc',
  'transformer.h.0.mlp.c_proj',
  'transformer.h.1.attn.c_attn',
  'transformer.h.1.attn.c_proj',
  'transformer.h.1.mlp.c_fc',
  'transformer.h.1.mlp.c_proj',
  'lm_head',
];
const LLAMA = [
  'model.embed_tokens',
  ...[0, 1].flatMap((k) =>
    [
      'self_attn.q_proj',
      'self_attn.k_proj',
      'self_attn.v_proj',
      'self_attn.o_proj',
      'mlp.gate_proj',
      'mlp.up_proj',
      'mlp.down_proj',
    ].map((p) => `model.layers.${k}.${p}`),
  ),
  'lm_head',
];
const RESNET = [
  'conv1',
  'layer1.0.conv1',
  'layer1.0.conv2',
  'layer1.1.conv1',
  'layer1.1.conv2',
  'layer2.0.conv1',
  'layer2.0.conv2',
  'layer2.0.downsample.0',
  'layer2.1.conv1',
  'layer2.1.conv2',
  'fc',
];

const keys = (names: string[]) => groupLayers(names).map((b) => b.key);

describe('layer blocks by name', () => {
  it('takes the name up to its first numeric segment', () => {
    assert.equal(blockKey('bert.encoder.layer.0.attention.self.query'), 'bert.encoder.layer.0');
    assert.equal(blockKey('bert.encoder.layer.11.output.dense'), 'bert.encoder.layer.11');
    assert.equal(blockKey('transformer.h.11.mlp.c_fc'), 'transformer.h.11');
    assert.equal(blockKey('model.layers.3.self_attn.q_proj'), 'model.layers.3');
    assert.equal(blockKey('layer2.1.conv2'), 'layer2.1');
    assert.equal(blockKey('layer2.0.downsample.0'), 'layer2.0', 'the first numeric segment, not the last');
    assert.equal(blockKey('features.3'), 'features.3');
    assert.equal(blockKey('encoder/layer_0/dense'), 'encoder/layer_0', 'no numeric segment: the prefix');
    assert.equal(blockKey('encoder/blocks/2/dense'), 'encoder/blocks/2', 'slashes as Keras and TensorFlow write paths');
  });

  it('groups a name without one by its prefix, and leaves a one-segment name alone', () => {
    assert.equal(blockKey('bert.embeddings.word_embeddings'), 'bert.embeddings');
    assert.equal(blockKey('bert.pooler.dense'), 'bert.pooler');
    assert.equal(blockKey('transformer.wte'), 'transformer');
    for (const name of ['conv1', 'dense_1', 'classifier', 'lm_head', 'fc', '0', 'block7'])
      assert.equal(blockKey(name), name);
    assert.equal(blockKey('0.weight'), '0', 'a leading number is not a block of its own parent');
  });

  it('keeps the layers in depth order: a block comes where its first layer does', () => {
    assert.deepEqual(keys(BERT), [
      'bert.embeddings',
      'bert.encoder.layer.0',
      'bert.encoder.layer.1',
      'bert.pooler',
      'classifier',
    ]);
    assert.deepEqual(keys(GPT2), ['transformer', 'transformer.h.0', 'transformer.h.1', 'lm_head']);
    assert.deepEqual(keys(LLAMA), ['model', 'model.layers.0', 'model.layers.1', 'lm_head']);
    assert.deepEqual(keys(RESNET), ['conv1', 'layer1.0', 'layer1.1', 'layer2.0', 'layer2.1', 'fc']);
    const bert = groupLayers(BERT);
    assert.deepEqual(bert[1].layers, [3, 4, 5, 6, 7, 8]);
    assert.deepEqual(
      bert.flatMap((b) => b.layers),
      BERT.map((_, i) => i),
      'every layer once, in order',
    );
    // Layers of one block apart from each other still make one block, where its first one is.
    const apart = groupLayers(['a.0.x', 'b', 'a.0.y', 'c.1.z']);
    assert.deepEqual(
      apart.map((b) => [b.key, b.layers]),
      [
        ['a.0', [0, 2]],
        ['b', [1]],
        ['c.1', [3]],
      ],
    );
  });

  it('groups only where it changes something, by default above GROUP_ABOVE layers', () => {
    const flat = Array.from({ length: 300 }, (_, i) => `conv${i + 1}`);
    assert.equal(groupable(groupLayers(flat), 300), false, 'no two layers share a block');
    assert.equal(groupingOn('blocks', groupLayers(flat), 300, 300), false);
    const one = ['m.a', 'm.b', 'm.c'];
    assert.equal(groupable(groupLayers(one), 3), false, 'one block of everything');
    const bert = groupLayers(BERT);
    assert.equal(
      groupingOn('auto', bert, BERT.length, BERT.length),
      false,
      `${BERT.length} layers: not grouped by default`,
    );
    assert.equal(groupingOn(undefined, bert, BERT.length, GROUP_ABOVE + 1), true);
    assert.equal(groupingOn('auto', bert, BERT.length, GROUP_ABOVE), false);
    assert.equal(groupingOn('blocks', bert, BERT.length, BERT.length), true);
    assert.equal(groupingOn('layers', bert, BERT.length, 1000), false);
  });

  it('draws a block as one line, an expanded block as its layers, a block of one layer as the layer', () => {
    const blocks = groupLayers(BERT);
    const all = groupedLines(blocks, new Set(), null, 256);
    assert.deepEqual(all.lines, [blockLine(0), blockLine(1), blockLine(2), 15, 16]);
    assert.deepEqual(all.layers, [15, 16]);
    assert.equal(all.capped, 0);
    assert.equal(all.matches, undefined);
    assert.ok(isBlockLine(blockLine(0)) && !isBlockLine(0));
    assert.equal(blockOfLine(blockLine(7)), 7);
    const open = groupedLines(blocks, new Set([1]), null, 256);
    assert.deepEqual(open.lines, [blockLine(0), 3, 4, 5, 6, 7, 8, blockLine(2), 15, 16]);
    assert.deepEqual(open.layers, [3, 4, 5, 6, 7, 8, 15, 16]);
    const capped = groupedLines(blocks, new Set([1, 2]), null, 4);
    assert.deepEqual(capped.lines, [blockLine(0), 3, 4, 5]);
    assert.equal(capped.capped, 11, '15 lines in all');
  });

  it('filters by layer name: a block shows when any of its layers match, expanded to those only', () => {
    const blocks = groupLayers(BERT);
    const q = (s: string) => (i: number) => BERT[i].includes(s);
    const query = groupedLines(blocks, new Set(), q('query'), 256);
    assert.deepEqual(query.lines, [blockLine(1), blockLine(2)]);
    assert.equal(query.matches, 2);
    const open = groupedLines(blocks, new Set([2]), q('dense'), 256);
    assert.deepEqual(open.lines, [blockLine(1), 12, 13, 14, 15]);
    assert.equal(open.matches, 7);
    const none = groupedLines(blocks, new Set(), q('no such layer'), 256);
    assert.deepEqual([none.lines, none.matches], [[], 0]);
  });

  it("colours a block by its layers' mean depth in the run", () => {
    const blocks = groupLayers(BERT);
    assert.equal(
      blockDepth(blocks[1], (i) => i),
      5.5,
    );
    // Depth in the run, not among the layers kept.
    assert.equal(
      blockDepth(blocks[0], (i) => 100 + i * 10),
      110,
    );
    const depths = blocks.map((b) => blockDepth(b, (i) => i));
    assert.deepEqual(
      depths,
      [...depths].sort((a, b) => a - b),
      'blocks in depth order are coloured in viridis order',
    );
  });
});
