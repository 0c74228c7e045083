#!/usr/bin/env node
// Reference GPT-2 tokenizer for gpt2/tokenizer_test.go: the npm package
// gpt-3-encoder's own encode() (an independent JavaScript port of OpenAI's
// encoder.py). Install it with scripts/install-node-deps.sh.
//
// Reads a JSON list of strings on stdin and prints a JSON list of token-id
// lists, one per string.
//
//   --golden   print instead the golden file lm/testdata/tokenizer/corpus.json:
//              a list of {"text": ..., "ids": [...]}, one case per line.
//
// gpt-3-encoder does not know the special token <|endoftext|>; like Hugging Face
// and tiktoken (with special tokens allowed), we split the text on it and
// insert its id, 50256, between the encoded pieces.
//
// The package is looked up in $GPT2_ENCODER_DIR (the package folder itself, or a
// folder holding node_modules/gpt-3-encoder), else in the repo's node_modules/.
'use strict';

const fs = require('fs');
const path = require('path');

const END_OF_TEXT = '<|endoftext|>';
const END_OF_TEXT_ID = 50256;

function packageDir() {
  const candidates = [];
  const env = process.env.GPT2_ENCODER_DIR;
  if (env) {
    candidates.push(env, path.join(env, 'node_modules', 'gpt-3-encoder'));
  }
  candidates.push(path.join(__dirname, '..', 'node_modules', 'gpt-3-encoder'));
  for (const dir of candidates) {
    if (fs.existsSync(path.join(dir, 'Encoder.js'))) {
      return path.resolve(dir);
    }
  }
  throw new Error('gpt-3-encoder not found in ' + candidates.join(', ') +
    '; run scripts/install-node-deps.sh or set GPT2_ENCODER_DIR');
}

const { encode } = require(packageDir());

function encodeWithSpecial(text) {
  const ids = [];
  text.split(END_OF_TEXT).forEach((piece, i) => {
    if (i > 0) ids.push(END_OF_TEXT_ID);
    if (piece !== '') {
      for (const id of encode(piece)) {
        if (typeof id !== 'number') {
          throw new Error('gpt-3-encoder gave a non-id for a piece of ' + JSON.stringify(text));
        }
        ids.push(id);
      }
    }
  });
  return ids;
}

const texts = JSON.parse(fs.readFileSync(0, 'utf8'));
if (!Array.isArray(texts) || !texts.every((t) => typeof t === 'string')) {
  throw new Error('stdin must be a JSON list of strings');
}
const results = texts.map(encodeWithSpecial);

if (process.argv.includes('--golden')) {
  const lines = texts.map((text, i) =>
    '  {"text": ' + JSON.stringify(text) + ', "ids": ' + JSON.stringify(results[i]) + '}');
  process.stdout.write('[\n' + lines.join(',\n') + '\n]\n');
} else {
  process.stdout.write(JSON.stringify(results) + '\n');
}
