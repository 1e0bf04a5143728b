#!/usr/bin/env python3
"""Writes models/digits_mlp/samples.json: the first rows of the committed test split as client
input files use them ({"inputs": [[64 pixels in [0, 1]], ...], "labels": [...]}), so the main job
can classify a real test image without Python or the training stack.

    /usr/bin/python3 scripts/export_samples.py [COUNT]
"""
import json
import struct
import sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent / "models" / "digits_mlp"
count = int(sys.argv[1]) if len(sys.argv) > 1 else 16

raw = (root / "test_inputs.safetensors").read_bytes()
(header_len,) = struct.unpack("<Q", raw[:8])
header = json.loads(raw[8 : 8 + header_len])
data = raw[8 + header_len :]


def tensor(name, fmt, size):
    begin, end = header[name]["data_offsets"]
    n = (end - begin) // size
    return list(struct.unpack("<%d%s" % (n, fmt), data[begin:end]))


pixels = tensor("inputs", "f", 4)
labels = tensor("labels", "q", 8)
width = header["inputs"]["shape"][1]
rows = [[round(v, 6) for v in pixels[r * width : (r + 1) * width]] for r in range(count)]
out = {"inputs": rows, "labels": labels[:count]}
(root / "samples.json").write_text(json.dumps(out) + "\n")
print("wrote %d rows to %s" % (count, root / "samples.json"))
