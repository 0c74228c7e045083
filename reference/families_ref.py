#!/usr/bin/python3
"""Independent float64 reference for the Llama, Qwen2, Qwen3 and GPT-NeoX families
(Hugging Face LlamaForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM and
GPTNeoXForCausalLM semantics), written from scratch in PyTorch + numpy; it does not
use the transformers package. Run with Debian's interpreter:

    /usr/bin/python3 reference/families_ref.py forward --model DIR --ids 8491,11875,922 --out F.json
    /usr/bin/python3 reference/families_ref.py lens --model DIR --ids ... [--final-norm true|false] [--topk K] --out F.json

forward: {"logits": [T][V], "hidden_states": [L+1][T][D], "hooks": {TransformerLens name: value}};
lens: {"states": [...], "cells": [state][position]} with gpt2_ref.py's cell fields.
See reference/README.md for the semantics.
"""
import argparse
import json
import math
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gpt2_ref import cell, read_safetensors, tolist  # noqa: E402

torch.set_default_dtype(torch.float64)


class Family:
    """One model of any of the four families, batch 1, float64."""

    def __init__(self, model_dir):
        with open(os.path.join(model_dir, "config.json")) as f:
            c = json.load(f)
        self.kind = c["model_type"]
        if self.kind not in ("llama", "qwen2", "qwen3", "gpt_neox"):
            raise SystemExit(f"model_type {self.kind!r}: this reference covers llama, qwen2, qwen3, gpt_neox")
        self.L, self.H, self.D = c["num_hidden_layers"], c["num_attention_heads"], c["hidden_size"]
        self.V, self.n_pos = c["vocab_size"], c["max_position_embeddings"]
        self.neox = self.kind == "gpt_neox"
        self.KV = self.H if self.neox else c.get("num_key_value_heads") or self.H
        self.hd = self.D // self.H if self.neox else c.get("head_dim") or self.D // self.H
        self.eps = c.get("layer_norm_eps", 1e-5) if self.neox else c.get("rms_norm_eps", 1e-6)
        pct = c.get("rotary_pct", c.get("partial_rotary_factor", 0.25)) if self.neox else 1.0
        self.rd = int(self.hd * pct)
        base = c.get("rotary_emb_base", c.get("rope_theta", 10000.0)) if self.neox else c.get("rope_theta", 10000.0)
        self.inv_freq = self.rope_frequencies(base, c.get("rope_scaling"))
        self.parallel = self.neox and c.get("use_parallel_residual", True)
        w = {k: torch.from_numpy(a) for k, a in read_safetensors(os.path.join(model_dir, "model.safetensors")).items()}
        self.w = w
        tied = c.get("tie_word_embeddings", False)  # the config classes' default
        emb = "gpt_neox.embed_in.weight" if self.neox else "model.embed_tokens.weight"
        self.embed = w[emb]
        head = "embed_out.weight" if self.neox else "lm_head.weight"
        self.unembed = self.embed if tied else w[head]
        self.qkv_bias = self.kind == "qwen2" or c.get("attention_bias", False)

    def rope_frequencies(self, base, scaling):
        """θ^(−2i/d) for the rotated dimensions, scaled (linear, llama3) as transformers does."""
        inv = 1.0 / base ** (torch.arange(0, self.rd, 2, dtype=torch.float64) / self.rd)
        if not scaling:
            return inv
        kind = scaling.get("rope_type", scaling.get("type"))
        if kind in (None, "default"):
            return inv
        if kind == "linear":
            return inv / scaling["factor"]
        if kind == "llama3":
            f, lo, hi = scaling["factor"], scaling["low_freq_factor"], scaling["high_freq_factor"]
            old = scaling["original_max_position_embeddings"]
            wave = 2 * math.pi / inv
            out = torch.where(wave > old / lo, inv / f, inv)
            smooth = (old / wave - lo) / (hi - lo)
            mid = (wave <= old / lo) & (wave >= old / hi)
            return torch.where(mid, (1 - smooth) * inv / f + smooth * inv, out)
        raise SystemExit(f"rope_scaling {kind!r} not supported")

    # --- pieces

    def norm(self, x, prefix):
        if self.neox:  # LayerNorm with bias
            mu = x.mean(-1, keepdim=True)
            var = ((x - mu) ** 2).mean(-1, keepdim=True)
            return (x - mu) / torch.sqrt(var + self.eps) * self.w[prefix + ".weight"] + self.w[prefix + ".bias"]
        return self.normalized(x) * self.w[prefix + ".weight"]

    def normalized(self, x):
        """The final norm's value before its weight (and bias): TL's hook_normalized."""
        if self.neox:
            mu = x.mean(-1, keepdim=True)
            return (x - mu) / torch.sqrt(((x - mu) ** 2).mean(-1, keepdim=True) + self.eps)
        return x / torch.sqrt((x * x).mean(-1, keepdim=True) + self.eps)

    def linear(self, x, prefix, bias):
        y = x @ self.w[prefix + ".weight"].T
        return y + self.w[prefix + ".bias"] if bias else y

    def rotate(self, x, T):
        """x [heads, T, hd]: the first rd dims turned by position (rotate_half convention)."""
        if self.rd == 0:
            return x
        ang = torch.arange(T, dtype=torch.float64)[:, None] * self.inv_freq[None, :]
        emb = torch.cat([ang, ang], -1)
        cos, sin = emb.cos(), emb.sin()
        r, rest = x[..., :self.rd], x[..., self.rd:]
        half = torch.cat([-r[..., self.rd // 2:], r[..., :self.rd // 2]], -1)
        return torch.cat([r * cos + half * sin, rest], -1)

    def attention(self, x, i, hooks):
        T, H, KV, hd = x.shape[0], self.H, self.KV, self.hd
        if self.neox:
            p = f"gpt_neox.layers.{i}.attention"
            qkv = self.linear(x, p + ".query_key_value", True).reshape(T, H, 3, hd)  # per head: q, k, v
            q, k, v = (qkv[:, :, j].transpose(0, 1) for j in range(3))
        else:
            p = f"model.layers.{i}.self_attn"
            q = self.linear(x, p + ".q_proj", self.qkv_bias).reshape(T, H, hd).transpose(0, 1)
            k = self.linear(x, p + ".k_proj", self.qkv_bias).reshape(T, KV, hd).transpose(0, 1)
            v = self.linear(x, p + ".v_proj", self.qkv_bias).reshape(T, KV, hd).transpose(0, 1)
            if self.kind == "qwen3":  # per-head RMSNorm of q and k, before the rotation
                q = self.normalized(q) * self.w[p + ".q_norm.weight"]
                k = self.normalized(k) * self.w[p + ".k_norm.weight"]
        q, k = self.rotate(q, T), self.rotate(k, T)
        k, v = k.repeat_interleave(H // KV, 0), v.repeat_interleave(H // KV, 0)  # grouped-query attention
        scores = q @ k.transpose(1, 2) / math.sqrt(hd)
        future = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
        z = (torch.softmax(scores.masked_fill(future, float("-inf")), -1) @ v).transpose(0, 1)  # [T, H, hd]
        hooks[f"blocks.{i}.attn.hook_z"] = z
        z = z.reshape(T, H * hd)
        return self.linear(z, p + ".dense", True) if self.neox else self.linear(z, p + ".o_proj", False)

    def mlp(self, x, i):
        if self.neox:
            p = f"gpt_neox.layers.{i}.mlp"
            h = self.linear(x, p + ".dense_h_to_4h", True)
            h = 0.5 * h * (1 + torch.erf(h / math.sqrt(2)))  # exact GELU
            return self.linear(h, p + ".dense_4h_to_h", True)
        p = f"model.layers.{i}.mlp"
        g = self.linear(x, p + ".gate_proj", False)
        return self.linear(g * torch.sigmoid(g) * self.linear(x, p + ".up_proj", False), p + ".down_proj", False)

    # --- the model

    def forward(self, ids):
        T = len(ids)
        if T < 1 or T > self.n_pos or min(ids) < 0 or max(ids) >= self.V:
            raise SystemExit("bad ids for this model")
        hooks = {}
        x = self.embed[torch.tensor(ids)]
        hooks["hook_embed"] = x
        hidden = [x]
        layers = "gpt_neox.layers" if self.neox else "model.layers"
        for i in range(self.L):
            p = f"{layers}.{i}"
            hooks[f"blocks.{i}.hook_resid_pre"] = x
            a = self.attention(self.norm(x, p + ".input_layernorm"), i, hooks)
            hooks[f"blocks.{i}.hook_attn_out"] = a
            mid = x + a
            hooks[f"blocks.{i}.hook_resid_mid"] = mid  # parallel blocks: resid_pre + attn_out
            m = self.mlp(self.norm(x if self.parallel else mid, p + ".post_attention_layernorm"), i)
            hooks[f"blocks.{i}.hook_mlp_out"] = m
            x = mid + m
            hooks[f"blocks.{i}.hook_resid_post"] = x
            hidden.append(x)
        final = "gpt_neox.final_layer_norm" if self.neox else "model.norm"
        hooks["ln_final.hook_normalized"] = self.normalized(x)
        hidden[-1] = self.norm(x, final)
        self.final = final
        return {"hidden_states": hidden, "hooks": hooks, "logits": hidden[-1] @ self.unembed.T}


def mode_forward(model, a):
    out = model.forward(a.ids)
    return {"ids": a.ids, "logits": tolist(out["logits"]), "hidden_states": [tolist(h) for h in out["hidden_states"]],
            "hooks": {k: tolist(v) for k, v in out["hooks"].items()}}


def mode_lens(model, a):
    out = model.forward(a.ids)
    hs, fn = out["hidden_states"], a.final_norm == "true"
    names = ["embeddings"] + [f"blocks.{i}" for i in range(model.L)]
    rows = []
    for s, h in enumerate(hs[:-1]):
        rows.append(((model.norm(h, model.final) if fn else h) @ model.unembed.T).numpy())
    rows.append(out["logits"].numpy())  # the last state is the model's own output
    fin, T = out["logits"].numpy(), len(a.ids)
    cells = [[cell(rows[s][t], fin[t], a.ids[t + 1] if t + 1 < T else None, a.target, a.topk) for t in range(T)]
             for s in range(len(names))]
    return {"ids": a.ids, "final_norm": fn, "states": names, "cells": cells}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("mode", choices=["forward", "lens"])
    ap.add_argument("--model", required=True, help="HF folder (config.json, model.safetensors)")
    ap.add_argument("--ids", required=True, help="comma-separated prompt token ids")
    ap.add_argument("--out", required=True, help="output JSON file")
    ap.add_argument("--final-norm", choices=["true", "false"], default="true")
    ap.add_argument("--topk", type=int, default=5)
    ap.add_argument("--target", type=int, default=None)
    a = ap.parse_args(argv)
    a.ids = [int(t) for t in a.ids.split(",")]
    model = Family(a.model)
    res = (mode_forward if a.mode == "forward" else mode_lens)(model, a)
    with open(a.out, "w") as f:
        json.dump(res, f)


if __name__ == "__main__":
    main()
