#!/usr/bin/python3
"""Train the small digits MLP and export it in the project's safetensors convention.

Data: the 8x8 handwritten digits shipped with python3-sklearn (load_digits), pixels scaled
from 0..16 to [0, 1]; a stratified 80/20 split with a fixed seed. Model: 64 -> 32 -> 16 -> 10
with ReLU, trained with Debian's python3-torch on the CPU, deterministically.

Writes (docs/models.md describes the formats):
  models/digits_mlp/model.safetensors        weights, torch layout [out, in], F32
  models/digits_mlp/test_inputs.safetensors  "inputs" F32 [m, 64], "labels" I64 [m]
  models/digits_mlp/reference.json           sizes, seed, float and fixed-point accuracies

The fixed-point accuracy here is computed with Python integers, with the same arithmetic as
common/model/reference.cpp, so the C++ tests can check both figures independently.

Usage: /usr/bin/python3 scripts/train_mlp.py [--out models/digits_mlp] [--seed 7]
(needs: apt-get install -y python3-torch python3-sklearn)
"""

import argparse
import json
import math
import os
import struct

import numpy as np
import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

HIDDEN = (32, 16)
FRAC_BITS = 16
MAGNITUDE_BITS = 48
EPOCHS = 80
BATCH = 64
LEARNING_RATE = 3e-3
WEIGHT_DECAY = 1e-4


def write_safetensors(path, tensors, metadata):
    """tensors: list of (name, dtype, shape, numpy array); written in that order."""
    header = {"__metadata__": metadata} if metadata else {}
    buffers = []
    offset = 0
    for name, dtype, shape, array in tensors:
        np_type = {"F32": "<f4", "F64": "<f8", "I32": "<i4", "I64": "<i8"}[dtype]
        data = np.ascontiguousarray(array, dtype=np_type).tobytes()
        assert len(data) == int(np.prod(shape, dtype=np.int64)) * np.dtype(np_type).itemsize
        header[name] = {"dtype": dtype, "shape": list(shape),
                        "data_offsets": [offset, offset + len(data)]}
        buffers.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)  # aligns the buffer, as the reference writer does
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for data in buffers:
            f.write(data)


def encode(x, frac_bits):
    """ring/fixed_point.hpp encode: round to nearest, ties away from zero, as a signed int."""
    scaled = float(x) * (1 << frac_bits)
    return int(math.copysign(math.floor(abs(scaled) + 0.5), scaled))


def fixed_point_forward(layers, inputs, frac_bits, magnitude_bits):
    """Exact integer version of reference.cpp: returns (predictions, largest |value|)."""
    bound = 1 << magnitude_bits
    largest = 0
    preds = []
    enc_layers = [(kind, None if w is None else [[encode(v, frac_bits) for v in row] for row in w],
                   None if b is None else [encode(v, frac_bits) for v in b])
                  for kind, w, b in layers]
    for row in inputs:
        x = [encode(v, frac_bits) for v in row]
        largest = max(largest, max(abs(v) for v in x))
        for kind, w, b in enc_layers:
            if kind == "relu":
                x = [v if v >= 0 else 0 for v in x]
                continue
            out = []
            for j, w_row in enumerate(w):  # torch layout: w[out][in]
                product = sum(xv * wv for xv, wv in zip(x, w_row))
                y = (product >> frac_bits) + b[j]  # Python's >> on ints is floor division
                largest = max(largest, abs(product), abs(y))
                out.append(y)
            x = out
        assert largest < bound, "a value reaches 2^l"
        preds.append(max(range(len(x)), key=lambda j: (x[j], -j)))
    return preds, largest


def float64_forward(layers, inputs):
    x = np.asarray(inputs, dtype=np.float64)
    for kind, w, b in layers:
        x = np.maximum(x, 0.0) if kind == "relu" else x @ np.asarray(w, np.float64).T + b
    return [int(np.argmax(row)) for row in x]  # np.argmax: first of equal maxima


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "models",
                                                      "digits_mlp"))
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)

    digits = load_digits()
    features = (digits.data / 16.0).astype(np.float32)
    labels = digits.target.astype(np.int64)
    x_train, x_test, y_train, y_test = train_test_split(
        features, labels, test_size=0.2, stratify=labels, random_state=args.seed)

    widths = (features.shape[1],) + HIDDEN + (10,)
    modules = []
    for i in range(len(widths) - 1):
        modules.append(torch.nn.Linear(widths[i], widths[i + 1]))
        if i + 2 < len(widths):
            modules.append(torch.nn.ReLU())
    model = torch.nn.Module()
    model.layers = torch.nn.Sequential(*modules)  # state_dict names: layers.<j>.weight / .bias

    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE, weight_decay=WEIGHT_DECAY)
    xt, yt = torch.from_numpy(x_train), torch.from_numpy(y_train)
    generator = torch.Generator().manual_seed(args.seed)
    for _ in range(EPOCHS):
        order = torch.randperm(len(xt), generator=generator)
        for start in range(0, len(xt), BATCH):
            idx = order[start:start + BATCH]
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(model.layers(xt[idx]), yt[idx])
            loss.backward()
            optimizer.step()

    with torch.no_grad():
        float32_preds = model.layers(torch.from_numpy(x_test)).argmax(dim=1).tolist()
    state = {k: v.detach().numpy() for k, v in model.state_dict().items()}

    kinds = ["linear" if isinstance(m, torch.nn.Linear) else "relu" for m in modules]
    graph = [(kind,
              state.get(f"layers.{j}.weight").astype(np.float64).tolist() if kind == "linear"
              else None,
              state.get(f"layers.{j}.bias").astype(np.float64).tolist() if kind == "linear"
              else None)
             for j, kind in enumerate(kinds)]
    float64_preds = float64_forward(graph, x_test.astype(np.float64))
    fixed_preds, largest = fixed_point_forward(graph, x_test.astype(np.float64).tolist(),
                                               FRAC_BITS, MAGNITUDE_BITS)

    def accuracy(preds):
        return sum(int(p == t) for p, t in zip(preds, y_test.tolist())) / len(y_test)

    os.makedirs(args.out, exist_ok=True)
    tensors = []
    for j, kind in enumerate(kinds):
        if kind == "linear":
            for part in ("weight", "bias"):
                name = f"layers.{j}.{part}"
                tensors.append((name, "F32", state[name].shape, state[name]))
    write_safetensors(os.path.join(args.out, "model.safetensors"), tensors, {
        "ppi.architecture": "mlp",
        "ppi.mlp.layers": ",".join(kinds),
        "ppi.mlp.classes": "10",
        "ppi.fixed_point.frac_bits": str(FRAC_BITS),
        "ppi.fixed_point.magnitude_bits": str(MAGNITUDE_BITS),
    })
    write_safetensors(os.path.join(args.out, "test_inputs.safetensors"), [
        ("inputs", "F32", x_test.shape, x_test),
        ("labels", "I64", y_test.shape, y_test),
    ], {"ppi.dataset": "sklearn load_digits test split", "ppi.features": "pixel / 16"})

    reference = {
        "dataset": "sklearn.datasets.load_digits (8x8, features = pixel / 16)",
        "seed": args.seed,
        "split": "stratified train_test_split, test_size=0.2",
        "train_size": len(x_train),
        "test_size": len(x_test),
        "architecture": ",".join(str(w) for w in widths),
        "epochs": EPOCHS,
        "batch": BATCH,
        "learning_rate": LEARNING_RATE,
        "weight_decay": WEIGHT_DECAY,
        "torch_version": torch.__version__,
        "frac_bits": FRAC_BITS,
        "magnitude_bits": MAGNITUDE_BITS,
        "float32_test_accuracy": accuracy(float32_preds),
        "float64_test_accuracy": accuracy(float64_preds),
        "fixed_point_test_accuracy": accuracy(fixed_preds),
        "fixed_point_max_abs": largest,
        "fixed_point_max_abs_bits": largest.bit_length(),
        "float64_predictions": float64_preds,
        "fixed_point_predictions": fixed_preds,
    }
    with open(os.path.join(args.out, "reference.json"), "w") as f:
        json.dump(reference, f, indent=1)
        f.write("\n")
    print(json.dumps({k: v for k, v in reference.items() if not k.endswith("predictions")}))
    assert reference["float32_test_accuracy"] >= 0.95, "float accuracy below 95%"


if __name__ == "__main__":
    main()
