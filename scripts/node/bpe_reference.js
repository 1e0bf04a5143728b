#!/usr/bin/env node
// The reference for tests/unit/test_tokenizer.cpp: gpt-3-encoder's encode() on each string of a
// JSON array read from stdin, whole (no splitting), and decode() of the result; writes
// [{"ids": [...], "text": "..."}, ...]. Run with the package's folder as the first argument:
//   node scripts/node/bpe_reference.js third_party/node_modules/gpt-3-encoder < in.json
'use strict';
const path = require('path');
const { encode, decode } = require(path.resolve(process.argv[2]));
const chunks = [];
process.stdin.on('data', (c) => chunks.push(c));
process.stdin.on('end', () => {
  const texts = JSON.parse(Buffer.concat(chunks).toString('utf-8'));
  const out = texts.map((t) => {
    const ids = encode(t);
    return { ids, text: decode(ids) };
  });
  process.stdout.write(JSON.stringify(out));
});
