#!/usr/bin/python3
"""Independent float64 reference for the Llama, Qwen2, Qwen3 and GPT-NeoX families
(Hugging Face LlamaForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM and
GPTNeoXForCausalLM semantics), written from scratch in PyTorch + numpy; it does not
use the transformers package. Run with Debian's interpreter:

    /usr/bin/python3 reference/families_ref.py forward --model DIR --ids 8491,11875,922 --out F.json
    /usr/bin/python3 reference/families_ref.py lens --model DIR --ids ... [--final-norm true|false]
                     [--topk K] [--target ID] [--states resid_post|all] --out F.json
    /usr/bin/python3 reference/families_ref.py mkfixture --family llama|qwen2|qwen3|gpt_neox --out DIR
                     [--seed S --n-layer L --hidden H --heads NH --kv-heads NKV --head-dim HD
                      --intermediate I --vocab-size V --max-positions P --tied
                      --rope-scaling llama3|linear|none --rotary-pct F --parallel-residual true|false
                      --attention-bias]

forward: {"ids", "logits": [T][V], "hidden_states": [L+1][T][D], "hooks": {TransformerLens name: value}};
lens: {"ids", "sequences", "final_norm", "positions", "next_ids", "states", "cells": [state][position]}
with gpt2_ref.py's cell fields. mkfixture writes config.json and model.safetensors (F32).
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
from gpt2_ref import cell, read_safetensors, tolist, write_safetensors  # noqa: E402

torch.set_default_dtype(torch.float64)

FAMILIES = ("llama", "qwen2", "qwen3", "gpt_neox")
ARCHITECTURES = {"llama": "LlamaForCausalLM", "qwen2": "Qwen2ForCausalLM",
                 "qwen3": "Qwen3ForCausalLM", "gpt_neox": "GPTNeoXForCausalLM"}


def fail(msg):
    raise SystemExit(f"families_ref: {msg}")


# ---------------------------------------------------------------- numerics


def rms_normalize(x, eps):
    """x / sqrt(mean(x^2) + eps) over the last axis (RMSNorm before its weight)."""
    return x * torch.rsqrt((x * x).mean(-1, keepdim=True) + eps)


def layer_normalize(x, eps):
    """(x - mean) / sqrt(biased var + eps) over the last axis (LayerNorm before w, b)."""
    c = x - x.mean(-1, keepdim=True)
    return c * torch.rsqrt((c * c).mean(-1, keepdim=True) + eps)


def rotate_half(x):
    """[x1, x2] -> [-x2, x1], halves of the last axis (HF Llama / NeoX convention)."""
    n = x.shape[-1] // 2
    return torch.cat([-x[..., n:], x[..., :n]], -1)


def apply_rotary(x, cos, sin):
    """x [..., T, hd]; cos/sin [T, rd]: the first rd dims are rotated, the rest pass."""
    rd = cos.shape[-1]
    r, rest = x[..., :rd], x[..., rd:]
    return torch.cat([r * cos + rotate_half(r) * sin, rest], -1)


def activation(name):
    if name in ("silu", "swish"):
        return lambda x: x * torch.sigmoid(x)
    if name == "gelu":  # exact, erf
        return lambda x: 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))
    if name in ("gelu_new", "gelu_pytorch_tanh", "gelu_fast"):
        return lambda x: 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))
    fail(f"hidden_act {name!r} is not supported (silu, gelu, gelu_new, gelu_pytorch_tanh, gelu_fast)")


def rope_inv_freq(rd, base, scaling):
    """Inverse frequencies base^(-2i/rd), i < rd/2, with HF's rope_scaling rules:
    linear divides them all by factor; llama3 divides the low frequencies (wavelength
    above original_max/low_freq_factor) by factor, keeps the high ones (wavelength
    below original_max/high_freq_factor) and blends linearly in 1/wavelength between."""
    inv = 1.0 / (float(base) ** (torch.arange(0, rd, 2, dtype=torch.float64) / rd))
    kind = None
    if scaling:
        kind = scaling.get("rope_type", scaling.get("type"))
    if kind in (None, "default"):
        return inv
    if kind == "linear":
        if "factor" not in scaling:
            fail("rope_scaling of type linear needs factor")
        return inv / float(scaling["factor"])
    if kind == "llama3":
        need = ("factor", "low_freq_factor", "high_freq_factor", "original_max_position_embeddings")
        missing = [k for k in need if k not in scaling]
        if missing:
            fail(f"rope_scaling of type llama3 lacks {', '.join(missing)}")
        factor, lo, hi = float(scaling["factor"]), float(scaling["low_freq_factor"]), float(scaling["high_freq_factor"])
        orig = float(scaling["original_max_position_embeddings"])
        wavelen = 2.0 * math.pi / inv
        long_wave, short_wave = orig / lo, orig / hi
        scaled = inv / factor
        s = (orig / wavelen - lo) / (hi - lo)  # 0 at long_wave, 1 at short_wave
        blended = (1.0 - s) * scaled + s * inv
        out = torch.where(wavelen > long_wave, scaled, inv)
        medium = (wavelen <= long_wave) & (wavelen >= short_wave)
        return torch.where(medium, blended, out)
    fail(f"rope_scaling of type {kind!r} is not supported (default, linear, llama3)")


# ---------------------------------------------------------------- model


class Family:
    """One model of any of the four families, batch 1, float64."""

    def __init__(self, model_dir):
        path = os.path.join(model_dir, "config.json")
        with open(path) as f:
            c = json.load(f)
        self.cfg = c
        self.kind = c.get("model_type")
        if self.kind not in FAMILIES:
            fail(f"{path}: model_type {self.kind!r}; this reference covers {', '.join(FAMILIES)}")
        self.neox = self.kind == "gpt_neox"

        def pos_int(key):
            v = c.get(key)
            if not isinstance(v, int) or v < 1:
                fail(f"{path}: {key} must be a positive integer, got {v!r}")
            return v

        self.L, self.H, self.D = pos_int("num_hidden_layers"), pos_int("num_attention_heads"), pos_int("hidden_size")
        self.V, self.n_pos = pos_int("vocab_size"), pos_int("max_position_embeddings")
        if self.neox:
            if self.D % self.H:
                fail(f"hidden_size {self.D} is not a multiple of num_attention_heads {self.H}")
            self.KV, self.hd = self.H, self.D // self.H
            self.eps = float(c.get("layer_norm_eps", 1e-5))
            pct = c.get("rotary_pct", c.get("partial_rotary_factor", 0.25))
            base = c.get("rotary_emb_base", c.get("rope_theta", 10000.0))
            self.act = activation(c.get("hidden_act", "gelu"))
            self.qkv_bias = self.o_bias = bool(c.get("attention_bias", True))
            self.mlp_bias = True
            self.parallel = bool(c.get("use_parallel_residual", True))
        else:
            self.KV = c.get("num_key_value_heads") or self.H
            if self.H % self.KV:
                fail(f"num_attention_heads {self.H} is not a multiple of num_key_value_heads {self.KV}")
            self.hd = c.get("head_dim") or 0
            if not self.hd:
                if self.D % self.H:
                    fail(f"hidden_size {self.D} is not a multiple of num_attention_heads {self.H}")
                self.hd = self.D // self.H
            self.eps = float(c.get("rms_norm_eps", 1e-6))
            pct = c.get("partial_rotary_factor", 1.0)
            if pct != 1.0:
                fail(f"partial_rotary_factor {pct} is only supported for gpt_neox")
            base = c.get("rope_theta", 10000.0)
            self.act = activation(c.get("hidden_act", "silu"))
            if self.kind == "qwen2":  # Qwen2: q/k/v always biased, o_proj never
                self.qkv_bias, self.o_bias, self.mlp_bias = True, False, False
            else:  # Llama, Qwen3: attention_bias covers q, k, v and o
                self.qkv_bias = self.o_bias = bool(c.get("attention_bias", False))
                self.mlp_bias = bool(c.get("mlp_bias", False)) if self.kind == "llama" else False
            self.parallel = False
            if self.kind in ("qwen2", "qwen3") and c.get("use_sliding_window", False):
                self.window = c.get("sliding_window")
                self.window_from = c.get("max_window_layers", 0)
        scaling = c.get("rope_scaling")
        if isinstance(c.get("rope_parameters"), dict):  # transformers v5 layout
            rp = c["rope_parameters"]
            base = rp.get("rope_theta", base)
            scaling = rp
        self.rd = int(self.hd * pct)
        if self.rd % 2 or not 0 <= self.rd <= self.hd:
            fail(f"rotary dimensions int(head_dim {self.hd} * {pct}) = {self.rd} must be an even number <= head_dim")
        self.inv_freq = rope_inv_freq(self.rd, base, scaling)
        self.tied = bool(c.get("tie_word_embeddings", False))  # the default of all four config classes
        self.final = "gpt_neox.final_layer_norm" if self.neox else "model.norm"
        self.layers = "gpt_neox.layers" if self.neox else "model.layers"
        wpath = os.path.join(model_dir, "model.safetensors")
        self.w = {k: torch.from_numpy(a) for k, a in read_safetensors(wpath).items()}
        self.check_weights(wpath)
        self.embed = self.w["gpt_neox.embed_in.weight" if self.neox else "model.embed_tokens.weight"]
        head = "embed_out.weight" if self.neox else "lm_head.weight"
        if self.tied:
            if head in self.w and not torch.equal(self.w[head], self.embed):
                print(f"warning: {head} differs from the embedding; tie_word_embeddings=true uses the embedding",
                      file=sys.stderr)
            self.unembed = self.embed
        else:
            self.unembed = self.w[head]

    def expected_weights(self):
        """{name: shape} this config needs (the unembedding only when untied)."""
        D, hd, H, KV, V = self.D, self.hd, self.H, self.KV, self.V
        I = self.cfg.get("intermediate_size")
        e = {}
        if self.neox:
            e["gpt_neox.embed_in.weight"] = (V, D)
            for i in range(self.L):
                p = f"gpt_neox.layers.{i}."
                for n in ("input_layernorm", "post_attention_layernorm"):
                    e[p + n + ".weight"] = e[p + n + ".bias"] = (D,)
                e[p + "attention.query_key_value.weight"] = (3 * D, D)
                e[p + "attention.dense.weight"] = (D, D)
                if self.qkv_bias:
                    e[p + "attention.query_key_value.bias"] = (3 * D,)
                    e[p + "attention.dense.bias"] = (D,)
                e[p + "mlp.dense_h_to_4h.weight"], e[p + "mlp.dense_h_to_4h.bias"] = (I, D), (I,)
                e[p + "mlp.dense_4h_to_h.weight"], e[p + "mlp.dense_4h_to_h.bias"] = (D, I), (D,)
            e["gpt_neox.final_layer_norm.weight"] = e["gpt_neox.final_layer_norm.bias"] = (D,)
            if not self.tied:
                e["embed_out.weight"] = (V, D)
            return e
        e["model.embed_tokens.weight"] = (V, D)
        for i in range(self.L):
            p = f"model.layers.{i}."
            e[p + "input_layernorm.weight"] = e[p + "post_attention_layernorm.weight"] = (D,)
            for n, rows in (("q", H * hd), ("k", KV * hd), ("v", KV * hd)):
                e[p + f"self_attn.{n}_proj.weight"] = (rows, D)
                if self.qkv_bias:
                    e[p + f"self_attn.{n}_proj.bias"] = (rows,)
            e[p + "self_attn.o_proj.weight"] = (D, H * hd)
            if self.o_bias:
                e[p + "self_attn.o_proj.bias"] = (D,)
            if self.kind == "qwen3":
                e[p + "self_attn.q_norm.weight"] = e[p + "self_attn.k_norm.weight"] = (hd,)
            for n, shape in (("gate", (I, D)), ("up", (I, D)), ("down", (D, I))):
                e[p + f"mlp.{n}_proj.weight"] = shape
                if self.mlp_bias:
                    e[p + f"mlp.{n}_proj.bias"] = (shape[0],)
        e["model.norm.weight"] = (D,)
        if not self.tied:
            e["lm_head.weight"] = (V, D)
        return e

    def check_weights(self, wpath):
        if not isinstance(self.cfg.get("intermediate_size"), int):
            fail("config: intermediate_size must be an integer")
        bad = []
        for name, shape in self.expected_weights().items():
            if name not in self.w:
                bad.append(f"{name} missing")
            elif tuple(self.w[name].shape) != shape:
                bad.append(f"{name} has shape {list(self.w[name].shape)}, want {list(shape)}")
        if bad:
            more = f" (and {len(bad) - 8} more)" if len(bad) > 8 else ""
            fail(f"{wpath}: " + "; ".join(bad[:8]) + more)

    # --- pieces

    def linear(self, x, prefix, bias):
        y = x @ self.w[prefix + ".weight"].T
        return y + self.w[prefix + ".bias"] if bias else y

    def normalized(self, x):
        """A norm's value before its weight (and bias): TL's hook_normalized."""
        return layer_normalize(x, self.eps) if self.neox else rms_normalize(x, self.eps)

    def norm_scale(self, x):
        """TL's hook_scale: the divisor sqrt(var + eps) or sqrt(mean(x^2) + eps)."""
        c = x - x.mean(-1, keepdim=True) if self.neox else x
        return torch.sqrt((c * c).mean(-1, keepdim=True) + self.eps)

    def norm(self, x, prefix):
        y = self.normalized(x) * self.w[prefix + ".weight"]
        return y + self.w[prefix + ".bias"] if self.neox else y

    def rotary(self, positions):
        """cos, sin [T, rd] at the given (integer) positions, frequencies concatenated twice."""
        ang = torch.as_tensor(positions, dtype=torch.float64)[:, None] * self.inv_freq[None, :]
        emb = torch.cat([ang, ang], -1)
        return emb.cos(), emb.sin()

    def attention(self, x, i, cos, sin, hooks):
        T, H, KV, hd = x.shape[0], self.H, self.KV, self.hd
        p = f"{self.layers}.{i}.attention" if self.neox else f"{self.layers}.{i}.self_attn"
        if self.neox:  # fused, per head: output features [head][q|k|v][head_size]
            qkv = self.linear(x, p + ".query_key_value", self.qkv_bias).reshape(T, H, 3, hd)
            q, k, v = (qkv[:, :, j, :].transpose(0, 1) for j in range(3))  # [H, T, hd]
        else:
            q = self.linear(x, p + ".q_proj", self.qkv_bias).reshape(T, H, hd).transpose(0, 1)
            k = self.linear(x, p + ".k_proj", self.qkv_bias).reshape(T, KV, hd).transpose(0, 1)
            v = self.linear(x, p + ".v_proj", self.qkv_bias).reshape(T, KV, hd).transpose(0, 1)
            if self.kind == "qwen3":  # per-head RMSNorm of q and k, before the rotation
                q = rms_normalize(q, self.eps) * self.w[p + ".q_norm.weight"]
                k = rms_normalize(k, self.eps) * self.w[p + ".k_norm.weight"]
        q, k = apply_rotary(q, cos, sin), apply_rotary(k, cos, sin)
        hooks[f"blocks.{i}.attn.hook_rot_q"] = q.transpose(0, 1)  # [T, H, hd]
        hooks[f"blocks.{i}.attn.hook_rot_k"] = k.transpose(0, 1)  # [T, KV, hd]
        g = H // KV  # grouped-query attention: kv head j serves query heads j*g .. j*g+g-1
        k, v = k.repeat_interleave(g, 0), v.repeat_interleave(g, 0)
        scores = q @ k.transpose(1, 2) / math.sqrt(hd)  # [H, T, T]
        qi, ki = torch.arange(T)[:, None], torch.arange(T)[None, :]
        hidden = ki > qi
        if getattr(self, "window", None) and i >= self.window_from:
            if T > self.window:
                fail(f"layer {i} uses a sliding window of {self.window} < {T} tokens: not supported")
        pattern = torch.softmax(scores.masked_fill(hidden, float("-inf")), -1)
        hooks[f"blocks.{i}.attn.hook_pattern"] = pattern
        z = (pattern @ v).transpose(0, 1)  # [T, H, hd]
        hooks[f"blocks.{i}.attn.hook_z"] = z
        o = ".dense" if self.neox else ".o_proj"
        return self.linear(z.reshape(T, H * hd), p + o, self.o_bias)

    def mlp(self, x, i, hooks):
        p = f"{self.layers}.{i}.mlp"
        if self.neox:
            post = self.act(self.linear(x, p + ".dense_h_to_4h", True))
            hooks[f"blocks.{i}.mlp.hook_post"] = post
            return self.linear(post, p + ".dense_4h_to_h", True)
        post = self.act(self.linear(x, p + ".gate_proj", self.mlp_bias)) * self.linear(x, p + ".up_proj", self.mlp_bias)
        hooks[f"blocks.{i}.mlp.hook_post"] = post
        return self.linear(post, p + ".down_proj", self.mlp_bias)

    # --- the model

    def forward(self, ids):
        """Batch 1. Returns hidden_states (L+1 [T,D], HF order: the last one carries the
        final norm), resid_mid (L [T,D]), hooks (TransformerLens names) and logits [T,V]."""
        T = len(ids)
        if not 1 <= T <= self.n_pos:
            fail(f"sequence length {T} outside 1..max_position_embeddings={self.n_pos}")
        if min(ids) < 0 or max(ids) >= self.V:
            fail(f"token id outside 0..{self.V - 1}")
        cos, sin = self.rotary(range(T))
        hooks = {}
        x = self.embed[torch.tensor(ids)]
        hooks["hook_embed"] = x
        hidden, mids = [x], []
        for i in range(self.L):
            p = f"{self.layers}.{i}"
            hooks[f"blocks.{i}.hook_resid_pre"] = x
            a = self.attention(self.norm(x, p + ".input_layernorm"), i, cos, sin, hooks)
            hooks[f"blocks.{i}.hook_attn_out"] = a
            # parallel block: resid_pre + attn_out, which the MLP does not read (TL's parallel
            # block has no resid_mid hook; this is the project's convention)
            mid = x + a
            hooks[f"blocks.{i}.hook_resid_mid"] = mid
            mids.append(mid)
            m = self.mlp(self.norm(x if self.parallel else mid, p + ".post_attention_layernorm"), i, hooks)
            hooks[f"blocks.{i}.hook_mlp_out"] = m
            x = mid + m
            hooks[f"blocks.{i}.hook_resid_post"] = x
            hidden.append(x)
        hooks["ln_final.hook_scale"] = self.norm_scale(x)
        hooks["ln_final.hook_normalized"] = self.normalized(x)
        hidden[-1] = self.norm(x, self.final)
        return {"hidden_states": hidden, "resid_mid": mids, "hooks": hooks, "logits": hidden[-1] @ self.unembed.T}

    def lens_logits(self, h, final_norm):
        return (self.norm(h, self.final) if final_norm else h) @ self.unembed.T


# ---------------------------------------------------------------- modes


def mode_forward(model, a):
    out = model.forward(a.ids)
    return {"ids": a.ids, "logits": tolist(out["logits"]),
            "hidden_states": [tolist(h) for h in out["hidden_states"]],
            "hooks": {k: tolist(v) for k, v in out["hooks"].items()}}


def mode_lens(model, a):
    """States: embeddings, blocks.0 .. blocks.{L-1} (resid_post; with --states all each
    block's resid_mid before it). The last state is the model's own logits."""
    out = model.forward(a.ids)
    fn, L, hs = a.final_norm == "true", model.L, out["hidden_states"]
    names, rows = ["embeddings"], [model.lens_logits(hs[0], fn)]
    for i in range(L):
        if a.states == "all":
            names.append(f"blocks.{i}.resid_mid")
            rows.append(model.lens_logits(out["resid_mid"][i], fn))
        names.append(f"blocks.{i}")
        # hs[L] already carries the final norm: the last state is exactly the logits
        rows.append(out["logits"] if i == L - 1 else model.lens_logits(hs[i + 1], fn))
    rows = [r.numpy() for r in rows]
    fin, T = out["logits"].numpy(), len(a.ids)
    nxt = [a.ids[t + 1] if t + 1 < T else None for t in range(T)]
    cells = [[cell(rows[s][t], fin[t], nxt[t], a.target, a.topk) for t in range(T)] for s in range(len(names))]
    return {"ids": a.ids, "sequences": a.ids, "final_norm": fn, "positions": list(range(T)),
            "next_ids": nxt, "states": names, "cells": cells}


def fixture_config(a, hd, inter, bos):
    fam, D, H, KV, L, P, V = a.family, a.hidden, a.heads, a.kv_heads, a.n_layer, a.max_positions, a.vocab_size
    rs = None
    if a.rope_scaling == "llama3":
        rs = {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
              "original_max_position_embeddings": 64, "rope_type": "llama3"}
    elif a.rope_scaling == "linear":
        rs = {"factor": 4.0, "rope_type": "linear"}
    common = {"architectures": [ARCHITECTURES[fam]], "model_type": fam, "bos_token_id": bos, "eos_token_id": bos,
              "hidden_size": D, "intermediate_size": inter, "initializer_range": 0.02,
              "max_position_embeddings": P, "num_attention_heads": H, "num_hidden_layers": L,
              "rope_scaling": rs, "tie_word_embeddings": a.tied, "torch_dtype": "float32",
              "use_cache": True, "vocab_size": V}
    if fam == "gpt_neox":
        return dict(common, attention_bias=True, attention_dropout=0.0, classifier_dropout=0.1,
                    hidden_act="gelu", hidden_dropout=0.0, layer_norm_eps=1e-5, rotary_emb_base=10000,
                    rotary_pct=a.rotary_pct, use_parallel_residual=a.parallel_residual == "true")
    c = dict(common, attention_dropout=0.0, hidden_act="silu", num_key_value_heads=KV, rope_theta=10000.0)
    if fam == "llama":
        c.update(attention_bias=a.attention_bias, head_dim=hd, mlp_bias=False, pretraining_tp=1, rms_norm_eps=1e-5)
    else:
        c.update(max_window_layers=L, rms_norm_eps=1e-6, sliding_window=None, use_sliding_window=False)
        if fam == "qwen3":
            c.update(attention_bias=a.attention_bias, head_dim=hd)
        elif hd != D // H or D % H:
            c["head_dim"] = hd
    return dict(sorted(c.items()))


def mode_mkfixture(a):
    """A random model folder. Matrices ~ N(0, 1/fan_in) (so attention scores, and with
    them the rotary embedding, are O(1)), embeddings and unembedding ~ N(0, 0.5^2), norm
    weights 1 + 0.1 N(0,1), biases 0.1 N(0,1)."""
    fam = a.family
    D, H, L, V = a.hidden, a.heads, a.n_layer, a.vocab_size
    a.kv_heads = a.kv_heads or H
    if min(D, H, L, V, a.max_positions, a.kv_heads) < 1 or a.head_dim < 0 or a.intermediate < 0:
        fail("mkfixture: sizes must be positive")
    if fam == "gpt_neox":
        if D % H or a.kv_heads != H or a.head_dim not in (0, D // H):
            fail("mkfixture gpt_neox: hidden must be a multiple of heads, kv-heads = heads, head-dim = hidden/heads")
        if a.attention_bias:
            fail("mkfixture gpt_neox: --attention-bias is for llama and qwen3 (NeoX always has biases)")
        if a.tied:
            fail("mkfixture gpt_neox: --tied is not supported (embed_out is its own matrix)")
        a.rotary_pct = 0.25 if a.rotary_pct is None else a.rotary_pct
        if int(D // H * a.rotary_pct) % 2 or not 0 <= a.rotary_pct <= 1:
            fail(f"mkfixture gpt_neox: int(head_size {D // H} * rotary_pct {a.rotary_pct}) must be even")
        a.parallel_residual = a.parallel_residual or "true"
    else:
        if H % a.kv_heads:
            fail("mkfixture: heads must be a multiple of kv-heads")
        if a.attention_bias and fam == "qwen2":
            fail("mkfixture qwen2: q/k/v biases are always there, o_proj never has one")
        if a.rotary_pct is not None:
            fail("mkfixture: --rotary-pct is for gpt_neox")
        if a.parallel_residual is not None:
            fail("mkfixture: --parallel-residual is for gpt_neox")
    if not a.head_dim and D % H:
        fail("mkfixture: hidden is not a multiple of heads; give --head-dim")
    hd = a.head_dim or D // H
    inter = a.intermediate or 4 * D
    rng = np.random.default_rng(a.seed)
    r = lambda std, *s: rng.normal(0.0, std, size=s)
    mat = lambda o, i: r(1.0 / math.sqrt(i), o, i)
    gain = lambda n: 1.0 + r(0.1, n)
    bias = lambda n: r(0.1, n)
    t = {}
    if fam == "gpt_neox":
        t["gpt_neox.embed_in.weight"] = r(0.5, V, D)
        for i in range(L):
            p = f"gpt_neox.layers.{i}."
            t.update({p + "input_layernorm.weight": gain(D), p + "input_layernorm.bias": bias(D),
                      p + "post_attention_layernorm.weight": gain(D), p + "post_attention_layernorm.bias": bias(D),
                      p + "attention.query_key_value.weight": mat(3 * D, D),
                      p + "attention.query_key_value.bias": bias(3 * D),
                      p + "attention.dense.weight": mat(D, D), p + "attention.dense.bias": bias(D),
                      p + "mlp.dense_h_to_4h.weight": mat(inter, D), p + "mlp.dense_h_to_4h.bias": bias(inter),
                      p + "mlp.dense_4h_to_h.weight": mat(D, inter), p + "mlp.dense_4h_to_h.bias": bias(D)})
        t["gpt_neox.final_layer_norm.weight"], t["gpt_neox.final_layer_norm.bias"] = gain(D), bias(D)
        t["embed_out.weight"] = r(0.5, V, D)  # untied, as GPTNeoXForCausalLM
    else:
        qkv_bias = fam == "qwen2" or a.attention_bias
        t["model.embed_tokens.weight"] = r(0.5, V, D)
        for i in range(L):
            p = f"model.layers.{i}."
            t[p + "input_layernorm.weight"] = gain(D)
            for n, rows in (("q", H * hd), ("k", a.kv_heads * hd), ("v", a.kv_heads * hd)):
                t[p + f"self_attn.{n}_proj.weight"] = mat(rows, D)
                if qkv_bias:
                    t[p + f"self_attn.{n}_proj.bias"] = bias(rows)
            t[p + "self_attn.o_proj.weight"] = mat(D, H * hd)
            if a.attention_bias:
                t[p + "self_attn.o_proj.bias"] = bias(D)
            if fam == "qwen3":
                t[p + "self_attn.q_norm.weight"], t[p + "self_attn.k_norm.weight"] = gain(hd), gain(hd)
            t[p + "post_attention_layernorm.weight"] = gain(D)
            t[p + "mlp.gate_proj.weight"], t[p + "mlp.up_proj.weight"] = mat(inter, D), mat(inter, D)
            t[p + "mlp.down_proj.weight"] = mat(D, inter)
        t["model.norm.weight"] = gain(D)
        if not a.tied:
            t["lm_head.weight"] = r(0.5, V, D)
    cfg = fixture_config(a, hd, inter, min(50256, V - 1))
    os.makedirs(a.out, exist_ok=True)
    write_safetensors(os.path.join(a.out, "model.safetensors"), t)
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", choices=["forward", "lens", "mkfixture"])
    ap.add_argument("--model", help="HF folder (config.json, model.safetensors)")
    ap.add_argument("--ids", help="comma-separated prompt token ids")
    ap.add_argument("--out", required=True, help="output JSON file (mkfixture: output folder)")
    ap.add_argument("--final-norm", choices=["true", "false"], default="true")
    ap.add_argument("--topk", type=int, default=5)
    ap.add_argument("--target", type=int, default=None)
    ap.add_argument("--states", choices=["resid_post", "all"], default="resid_post")
    # mkfixture
    ap.add_argument("--family", choices=FAMILIES)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--n-layer", type=int, default=2)
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--kv-heads", type=int, default=0, help="0: = heads")
    ap.add_argument("--head-dim", type=int, default=0, help="0: hidden/heads")
    ap.add_argument("--intermediate", type=int, default=0, help="0: 4*hidden")
    ap.add_argument("--vocab-size", type=int, default=50257)
    ap.add_argument("--max-positions", type=int, default=64)
    ap.add_argument("--tied", action="store_true", help="tie_word_embeddings (llama, qwen2, qwen3)")
    ap.add_argument("--rope-scaling", choices=["none", "llama3", "linear"], default="none")
    ap.add_argument("--rotary-pct", type=float, default=None, help="gpt_neox rotary_pct (default 0.25)")
    ap.add_argument("--parallel-residual", choices=["true", "false"], default=None,
                    help="gpt_neox use_parallel_residual (default true)")
    ap.add_argument("--attention-bias", action="store_true", help="llama, qwen3: attention_bias (q, k, v, o)")
    a = ap.parse_args(argv)
    if a.mode == "mkfixture":
        if not a.family:
            ap.error("mkfixture needs --family")
        return mode_mkfixture(a)
    if not a.model or not a.ids:
        ap.error("--model and --ids are required")
    try:
        a.ids = [int(s) for s in a.ids.split(",") if s.strip()]
    except ValueError:
        ap.error("--ids must be comma-separated integers")
    if not a.ids:
        ap.error("--ids is empty")
    model = Family(a.model)
    if a.target is not None and not 0 <= a.target < model.V:
        ap.error("--target outside the vocabulary")
    if a.topk < 1:
        ap.error("--topk must be >= 1")
    with torch.no_grad():
        res = (mode_forward if a.mode == "forward" else mode_lens)(model, a)
    with open(a.out, "w") as f:
        f.write(json.dumps(res, allow_nan=False))


if __name__ == "__main__":
    main()
