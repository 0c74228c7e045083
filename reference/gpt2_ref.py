#!/usr/bin/python3
"""Independent float64 reference for GPT-2 (Hugging Face GPT2LMHeadModel semantics).

Written from scratch in PyTorch + numpy; it does not use the transformers package.
Run with Debian's interpreter:  /usr/bin/python3 reference/gpt2_ref.py MODE ...
Modes: forward, generate, lens, mkfixture.  See reference/README.md.
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch

torch.set_default_dtype(torch.float64)

# ---------------------------------------------------------------- safetensors


def read_safetensors(path):
    """Returns {name: float64 numpy array}. Supports F64, F32, F16 and BF16."""
    out = {}
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n).decode("utf-8"))
        for name, info in header.items():
            if name == "__metadata__":
                continue
            b, e = info["data_offsets"]
            f.seek(8 + n + b)
            buf = f.read(e - b)
            dt = info["dtype"]
            if dt == "BF16":  # bfloat16 = the high 16 bits of a float32
                a = (np.frombuffer(buf, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
            elif dt in ("F16", "F32", "F64"):
                a = np.frombuffer(buf, dtype={"F16": "<f2", "F32": "<f4", "F64": "<f8"}[dt])
            else:
                raise SystemExit(f"{path}: tensor {name}: unsupported dtype {dt}")
            out[name] = a.astype(np.float64).reshape(info["shape"])
    return out


def write_safetensors(path, tensors):
    """Writes {name: array} as F32 safetensors (header padded to 8 bytes)."""
    header, blobs, off = {}, [], 0
    for name, a in tensors.items():
        b = np.ascontiguousarray(a, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode("utf-8")
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(len(h).to_bytes(8, "little"))
        f.write(h)
        for b in blobs:
            f.write(b)


# ---------------------------------------------------------------- model


class GPT2:
    def __init__(self, model_dir):
        with open(os.path.join(model_dir, "config.json")) as f:
            cfg = json.load(f)
        self.L, self.H, self.D = cfg["n_layer"], cfg["n_head"], cfg["n_embd"]
        self.n_pos, self.V = cfg["n_positions"], cfg["vocab_size"]
        self.eps = cfg.get("layer_norm_epsilon", 1e-5)
        act = cfg.get("activation_function", "gelu_new")
        if act not in ("gelu_new", "gelu_pytorch_tanh"):
            raise SystemExit(f"activation_function {act!r} not supported")
        raw = read_safetensors(os.path.join(model_dir, "model.safetensors"))
        w = {}
        for k, a in raw.items():  # accept names with or without "transformer."
            w[k[len("transformer."):] if k.startswith("transformer.") else k] = torch.from_numpy(a)
        self.w = w
        self.wte = w["wte.weight"]  # [V, D]; lm_head is tied to it
        if "lm_head.weight" in w and not torch.equal(w["lm_head.weight"], self.wte):
            print("warning: lm_head.weight differs from wte.weight; using wte (tied, as HF does)",
                  file=sys.stderr)

    def layer_norm(self, x, prefix):
        mu = x.mean(-1, keepdim=True)
        var = ((x - mu) ** 2).mean(-1, keepdim=True)
        return (x - mu) / torch.sqrt(var + self.eps) * self.w[prefix + ".weight"] + self.w[prefix + ".bias"]

    def conv1d(self, x, prefix):  # HF Conv1D: y = x @ W + b, W is [in, out]
        return x @ self.w[prefix + ".weight"] + self.w[prefix + ".bias"]

    @staticmethod
    def gelu_new(x):
        return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))

    def attention(self, x, i, hooks):
        T, D, H = x.shape[0], self.D, self.H
        hd = D // H
        qkv = self.conv1d(x, f"h.{i}.attn.c_attn")  # [T, 3D]
        q, k, v = (qkv[:, j * D:(j + 1) * D].reshape(T, H, hd).transpose(0, 1) for j in range(3))
        scores = q @ k.transpose(1, 2) / math.sqrt(hd)  # [H, T, T]
        future = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
        pattern = torch.softmax(scores.masked_fill(future, float("-inf")), dim=-1)
        hooks[f"blocks.{i}.attn.hook_pattern"] = pattern
        z = (pattern @ v).transpose(0, 1)  # [T, H, hd]
        hooks[f"blocks.{i}.attn.hook_z"] = z
        return self.conv1d(z.reshape(T, D), f"h.{i}.attn.c_proj")

    def forward(self, ids, zero_attn=()):
        """Runs the model on a list of token ids (batch 1).

        Returns dict: hidden_states (list of L+1 [T,D], HF order, last one has ln_f),
        last_raw (block L-1 output before ln_f), resid_mid (list of L [T,D]),
        hooks (TransformerLens names), logits [T,V]."""
        T = len(ids)
        if T < 1 or T > self.n_pos:
            raise SystemExit(f"sequence length {T} outside 1..n_positions={self.n_pos}")
        if min(ids) < 0 or max(ids) >= self.V:
            raise SystemExit(f"token id outside 0..{self.V - 1}")
        hooks = {}
        embed = self.wte[torch.tensor(ids)]
        pos = self.w["wpe.weight"][:T]
        hooks["hook_embed"], hooks["hook_pos_embed"] = embed, pos
        x = embed + pos
        hidden, mids = [x], []
        for i in range(self.L):
            hooks[f"blocks.{i}.hook_resid_pre"] = x
            a = self.attention(self.layer_norm(x, f"h.{i}.ln_1"), i, hooks)
            if i in zero_attn:
                a = torch.zeros_like(a)  # activation patching: the zeroed value is what gets added
            hooks[f"blocks.{i}.hook_attn_out"] = a
            x = x + a
            hooks[f"blocks.{i}.hook_resid_mid"] = x
            mids.append(x)
            post = self.gelu_new(self.conv1d(self.layer_norm(x, f"h.{i}.ln_2"), f"h.{i}.mlp.c_fc"))
            hooks[f"blocks.{i}.mlp.hook_post"] = post
            m = self.conv1d(post, f"h.{i}.mlp.c_proj")
            hooks[f"blocks.{i}.hook_mlp_out"] = m
            x = x + m
            hooks[f"blocks.{i}.hook_resid_post"] = x
            hidden.append(x)
        last_raw = hidden[-1]
        mu = last_raw.mean(-1, keepdim=True)
        scale = torch.sqrt(((last_raw - mu) ** 2).mean(-1, keepdim=True) + self.eps)
        hooks["ln_final.hook_scale"] = scale
        hooks["ln_final.hook_normalized"] = (last_raw - mu) / scale  # TL: before the affine w, b
        hidden[-1] = self.layer_norm(last_raw, "ln_f")
        logits = hidden[-1] @ self.wte.T
        return {"hidden_states": hidden, "last_raw": last_raw, "resid_mid": mids,
                "hooks": hooks, "logits": logits}


# ---------------------------------------------------------------- helpers


def argmax(row):  # ties -> lowest id (np.argmax returns the first maximum)
    return int(np.argmax(row))


def rank_of(row, tok):  # 0-based; equal logits are ordered by lower token id first
    v = row[tok]
    return int((row > v).sum() + (row[:tok] == v).sum())


def topk(row, k):  # descending logit, ties by lower token id
    k = min(k, row.shape[0])
    thresh = np.partition(row, -k)[-k]
    cand = np.nonzero(row >= thresh)[0]
    order = np.lexsort((cand, -row[cand]))[:k]
    return cand[order]


def log_softmax(row):
    m = row.max()
    return row - m - math.log(np.exp(row - m).sum())


def cell(row, final_row, next_id, target, k):
    """Lens metrics for one (state, position): row/final_row are float64 logits [V]."""
    lp, lpf = log_softmax(row), log_softmax(final_row)
    p, pf = np.exp(lp), np.exp(lpf)
    fa = argmax(final_row)
    ids = topk(row, k)
    c = {
        "topk_ids": [int(t) for t in ids],
        "topk_probs": [float(p[t]) for t in ids],
        "topk_logits": [float(row[t]) for t in ids],
        "entropy": float(-(p * lp).sum()),
        "kl_to_final": float((pf * (lpf - lp)).sum()),
        "final_top1": fa,
        "rank_of_final": rank_of(row, fa),
        "final_top1_logit": float(row[fa]),
        "final_prob": float(p[fa]),
        "next_id": next_id,
        "next_prob": None, "next_rank": None, "cross_entropy": None, "top1_is_next": None,
        "target_prob": None, "target_rank": None,
    }
    if next_id is not None:
        c.update(next_prob=float(p[next_id]), next_rank=rank_of(row, next_id),
                 cross_entropy=float(-lp[next_id]), top1_is_next=bool(argmax(row) == next_id))
    if target is not None:
        c.update(target_prob=float(p[target]), target_rank=rank_of(row, target))
    return c


def lens_states(model, out, final_norm, which, sel=slice(None)):
    """[(name, logits [T,V])] in hidden_states order for positions sel; 'all' adds resid_mid."""
    L, hs = model.L, out["hidden_states"]
    names, vecs = ["embeddings"], [hs[0][sel]]
    for i in range(L - 1):
        if which == "all":
            names.append(f"blocks.{i}.resid_mid"); vecs.append(out["resid_mid"][i][sel])
        names.append(f"blocks.{i}"); vecs.append(hs[i + 1][sel])
    if which == "all":
        names.append(f"blocks.{L - 1}.resid_mid"); vecs.append(out["resid_mid"][L - 1][sel])
    h = torch.stack(vecs)  # [S, T, D]: one matmul against wte for all states
    logits = list((model.layer_norm(h, "ln_f") if final_norm else h) @ model.wte.T)
    # last state: HF's hidden state already has ln_f, so with or without final norm the
    # lens gives exactly the model's logits (ln_f is never applied twice)
    names.append(f"blocks.{L - 1}"); logits.append(out["logits"][sel])
    return list(zip(names, logits))


def greedy(model, ids, steps, eos=None, min_length=0, zero_attn=()):
    """Full recomputation per step (no KV cache). Returns (sequence, per-step forward outputs)."""
    seq, outs = list(ids), []
    for _ in range(steps):
        out = model.forward(seq, zero_attn)
        row = out["logits"][-1].numpy().copy()
        if eos is not None and len(seq) < min_length:
            row[eos] = -np.inf
        outs.append(out)
        seq.append(argmax(row))
        if eos is not None and seq[-1] == eos:
            break
    return seq, outs


def tolist(t):
    return t.numpy().tolist() if isinstance(t, torch.Tensor) else t


# ---------------------------------------------------------------- modes


def mode_forward(model, a):
    out = model.forward(a.ids, a.zero_attn)
    return {"ids": a.ids, "zero_attn_out": sorted(a.zero_attn), "logits": tolist(out["logits"]),
            "hidden_states": [tolist(h) for h in out["hidden_states"]],
            "hooks": {k: tolist(v) for k, v in out["hooks"].items()}}


def mode_generate(model, a):
    if a.max_length <= len(a.ids):
        raise SystemExit("--max-length must exceed the prompt length")
    if a.max_length > model.n_pos:
        raise SystemExit(f"--max-length exceeds n_positions={model.n_pos}")
    seq, outs = greedy(model, a.ids, a.max_length - len(a.ids), a.eos_token_id, a.min_length, a.zero_attn)
    steps_hs = []
    for j, out in enumerate(outs):
        sl = slice(None) if j == 0 else slice(-1, None)
        steps_hs.append([tolist(h[sl]) for h in out["hidden_states"]])
    return {"ids": a.ids, "sequences": seq, "step_hidden_states": steps_hs,
            "step_logits": [tolist(o["logits"][-1]) for o in outs]}


def mode_lens(model, a):
    fn = a.final_norm == "true"
    if a.generate:  # one column per generation step: last position of that step's forward
        if len(a.ids) + a.generate > model.n_pos:
            raise SystemExit(f"prompt + --generate exceeds n_positions={model.n_pos}")
        seq, outs = greedy(model, a.ids, a.generate, zero_attn=a.zero_attn)
        cols = []  # (states, final logits row, next id) per step
        for j, out in enumerate(outs):
            st = [(n, lg[-1].numpy()) for n, lg in lens_states(model, out, fn, a.states, slice(-1, None))]
            cols.append((st, out["logits"][-1].numpy(), seq[len(a.ids) + j]))
        positions = [len(a.ids) - 1 + j for j in range(a.generate)]
    else:
        seq = a.ids
        out = model.forward(seq, a.zero_attn)
        st_all = [(n, lg.numpy()) for n, lg in lens_states(model, out, fn, a.states)]
        fin = out["logits"].numpy()
        cols = []
        for t in range(len(seq)):
            cols.append(([(n, lg[t]) for n, lg in st_all], fin[t], seq[t + 1] if t + 1 < len(seq) else None))
        positions = list(range(len(seq)))
    names = [n for n, _ in cols[0][0]]
    cells = [[cell(col[0][s][1], col[1], col[2], a.target, a.topk) for col in cols] for s in range(len(names))]
    return {"ids": a.ids, "sequences": seq, "final_norm": fn, "positions": positions,
            "next_ids": [c[2] for c in cols], "states": names, "cells": cells}


def mode_dla(model, a):
    """Direct logit attribution, TransformerLens style: stack every component that
    writes into the final residual stream, apply ln_f with the final position's
    scale frozen (centre each component, divide by hook_scale, multiply by the
    gain: apply_ln_to_stack), and project on the token's unembedding direction
    (or the difference of two). Heads: z @ W_O split per head, the same way."""
    out = model.forward(a.ids)
    hk = out["hooks"]
    direction = model.wte[a.target] - (model.wte[a.versus] if a.versus is not None else 0)
    gain, bias = model.w["ln_f.weight"], model.w["ln_f.bias"]
    scale = hk["ln_final.hook_scale"]  # [T, 1]

    def attr(stack):  # [..., T, D] -> [..., T]
        centred = stack - stack.mean(-1, keepdim=True)
        return ((centred / scale) * gain) @ direction

    names, comps = ["embed", "pos_embed"], [hk["hook_embed"], hk["hook_pos_embed"]]
    heads, head_bias = [], []
    H, D = model.H, model.D
    hd = D // H
    for i in range(model.L):
        names += [f"blocks.{i}.attn", f"blocks.{i}.mlp"]
        comps += [hk[f"blocks.{i}.hook_attn_out"], hk[f"blocks.{i}.hook_mlp_out"]]
        z = hk[f"blocks.{i}.attn.hook_z"]  # [T, H, hd]
        w_o = model.w[f"h.{i}.attn.c_proj.weight"].reshape(H, hd, D)
        per_head = torch.einsum("thk,hkd->htd", z, w_o)  # [H, T, D]
        heads.append(tolist(attr(per_head)))
        b = model.w[f"h.{i}.attn.c_proj.bias"].expand(len(a.ids), D)
        head_bias.append(tolist(attr(b)))
    logits = out["logits"][:, a.target] - (out["logits"][:, a.versus] if a.versus is not None else 0)
    return {"components": names, "direct": tolist(attr(torch.stack(comps))),
            "bias": tolist((bias @ direction).expand(len(a.ids))), "logit": tolist(logits),
            "heads": heads, "head_bias": head_bias, "scale": tolist(scale[:, 0])}


def mode_mkfixture(a):
    rng = np.random.default_rng(a.seed)
    L, H, D, V, P = a.n_layer, a.n_head, a.n_embd, a.vocab_size, a.n_positions
    r = lambda *s, std=0.02: rng.normal(0.0, std, size=s)
    t = {"wte.weight": r(V, D, std=0.1), "wpe.weight": r(P, D, std=0.2)}
    for i in range(L):
        t.update({
            f"h.{i}.ln_1.weight": 1 + r(D, std=0.1), f"h.{i}.ln_1.bias": r(D),
            f"h.{i}.attn.c_attn.weight": r(D, 3 * D, std=0.3), f"h.{i}.attn.c_attn.bias": r(3 * D),
            f"h.{i}.attn.c_proj.weight": r(D, D, std=0.3), f"h.{i}.attn.c_proj.bias": r(D),
            f"h.{i}.ln_2.weight": 1 + r(D, std=0.1), f"h.{i}.ln_2.bias": r(D),
            f"h.{i}.mlp.c_fc.weight": r(D, 4 * D, std=0.3), f"h.{i}.mlp.c_fc.bias": r(4 * D),
            f"h.{i}.mlp.c_proj.weight": r(4 * D, D, std=0.3), f"h.{i}.mlp.c_proj.bias": r(D),
        })
    # ln_f gain ~5 sharpens the logits (entropy ~9 nats instead of ~ln V) and gives varied greedy text
    t.update({"ln_f.weight": 5 * (1 + r(D, std=0.1)), "ln_f.bias": r(D)})
    if a.prefix:
        t = {"transformer." + k: v for k, v in t.items()}
    os.makedirs(a.out, exist_ok=True)
    write_safetensors(os.path.join(a.out, "model.safetensors"), t)
    cfg = {"model_type": "gpt2", "n_layer": L, "n_head": H, "n_embd": D, "n_positions": P,
           "n_ctx": P, "vocab_size": V, "layer_norm_epsilon": 1e-5, "activation_function": "gelu_new",
           "n_inner": None, "bos_token_id": 50256, "eos_token_id": 50256}
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=1)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["forward", "generate", "lens", "dla", "mkfixture"])
    ap.add_argument("--model", help="HF GPT-2 folder (config.json, model.safetensors)")
    ap.add_argument("--ids", help="comma-separated prompt token ids, e.g. 8491,11875,922,30")
    ap.add_argument("--out", required=True, help="output JSON file (mkfixture: output folder)")
    ap.add_argument("--zero-attn-out", action="append", default=[], metavar="LAYER",
                    help="zero block LAYER's attention output (repeatable or comma list)")
    ap.add_argument("--max-length", type=int, default=20)
    ap.add_argument("--min-length", type=int, default=0)
    ap.add_argument("--eos-token-id", type=int, default=50256)
    ap.add_argument("--final-norm", choices=["true", "false"], default="true")
    ap.add_argument("--topk", type=int, default=5)
    ap.add_argument("--target", type=int, default=None)
    ap.add_argument("--versus", type=int, default=None, help="dla: attribute the logit difference target - versus")
    ap.add_argument("--states", choices=["resid_post", "all"], default="resid_post")
    ap.add_argument("--generate", type=int, default=0, metavar="N")
    # mkfixture options
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-layer", type=int, default=2)
    ap.add_argument("--n-head", type=int, default=2)
    ap.add_argument("--n-embd", type=int, default=16)
    ap.add_argument("--n-positions", type=int, default=32)
    ap.add_argument("--vocab-size", type=int, default=50257)
    ap.add_argument("--prefix", action="store_true", help="mkfixture: name tensors transformer.*")
    a = ap.parse_args(argv)
    if a.mode == "mkfixture":
        return mode_mkfixture(a)
    if not a.model or not a.ids:
        ap.error("--model and --ids are required")
    a.ids = [int(s) for s in a.ids.split(",") if s.strip()]
    a.zero_attn = {int(s) for z in a.zero_attn_out for s in z.split(",") if s.strip()}
    model = GPT2(a.model)
    if any(not 0 <= z < model.L for z in a.zero_attn):
        ap.error(f"--zero-attn-out layer outside 0..{model.L - 1}")
    for name, v in (("--target", a.target), ("--versus", a.versus)):
        if v is not None and not 0 <= v < model.V:
            ap.error(f"{name} outside the vocabulary")
    if a.mode == "dla" and a.target is None:
        ap.error("dla needs --target")
    if a.mode == "generate" and not 0 <= a.eos_token_id < model.V:
        ap.error("--eos-token-id outside the vocabulary")
    with torch.no_grad():
        res = {"forward": mode_forward, "generate": mode_generate, "lens": mode_lens, "dla": mode_dla}[a.mode](model, a)
    with open(a.out, "w") as f:
        f.write(json.dumps(res, allow_nan=False))  # one-shot dumps uses the C encoder


if __name__ == "__main__":
    main()
