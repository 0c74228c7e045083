#!/usr/bin/python3
"""The PyTorch side of the training comparison (cmd/train -bench): the same GPT-2
(pre-norm blocks, gelu_new, tied lm_head, Hugging Face Conv1D layout), the same
initialisation rule, the same optimiser settings (Adam (betas 0.9, 0.95) with decoupled weight decay
on every parameter — as GoMLX's Adam applies it — global-norm clipping, linear
warm-up then cosine decay), trained on exactly the batches the Go side trained on.

    /usr/bin/python3 reference/train_torch.py --batches FILE --config config.json \
        --lr 1e-3 --min-lr 1e-4 --warmup 50 --steps 1000 --weight-decay 0.1 --clip 1

FILE is written by cmd/train -bench: int32 little-endian [N, batch, seq+1].
Prints one line per step: "step I LOSS SECONDS", then "tokens_per_s X" over the
steps after the first (the first includes PyTorch's own warm-up).
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(int(os.environ.get("BENCH_TORCH_THREADS", "2")))


class Block(torch.nn.Module):
    def __init__(self, d, h, eps, resid_std):
        super().__init__()
        self.h, self.eps = h, eps
        self.ln_1 = torch.nn.LayerNorm(d, eps=eps)
        self.ln_2 = torch.nn.LayerNorm(d, eps=eps)
        # Conv1D layout: weight [in, out]
        self.c_attn_w = torch.nn.Parameter(torch.randn(d, 3 * d) * 0.02)
        self.c_attn_b = torch.nn.Parameter(torch.zeros(3 * d))
        self.attn_proj_w = torch.nn.Parameter(torch.randn(d, d) * resid_std)
        self.attn_proj_b = torch.nn.Parameter(torch.zeros(d))
        self.c_fc_w = torch.nn.Parameter(torch.randn(d, 4 * d) * 0.02)
        self.c_fc_b = torch.nn.Parameter(torch.zeros(4 * d))
        self.mlp_proj_w = torch.nn.Parameter(torch.randn(4 * d, d) * resid_std)
        self.mlp_proj_b = torch.nn.Parameter(torch.zeros(d))

    def forward(self, x):
        B, T, D = x.shape
        hd = D // self.h
        qkv = self.ln_1(x) @ self.c_attn_w + self.c_attn_b
        q, k, v = (t.reshape(B, T, self.h, hd).transpose(1, 2) for t in qkv.split(D, dim=-1))
        scores = (q / math.sqrt(hd)) @ k.transpose(-1, -2)
        future = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
        probs = torch.softmax(scores.masked_fill(future, -1e30), dim=-1)
        z = (probs @ v).transpose(1, 2).reshape(B, T, D)
        x = x + z @ self.attn_proj_w + self.attn_proj_b
        hid = self.ln_2(x) @ self.c_fc_w + self.c_fc_b
        hid = 0.5 * hid * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (hid + 0.044715 * hid ** 3)))
        return x + hid @ self.mlp_proj_w + self.mlp_proj_b


class GPT2(torch.nn.Module):
    def __init__(self, cfg):
        super().__init__()
        d, L = cfg["n_embd"], cfg["n_layer"]
        eps = cfg.get("layer_norm_epsilon", 1e-5)
        self.wte = torch.nn.Parameter(torch.randn(cfg["vocab_size"], d) * 0.02)
        self.wpe = torch.nn.Parameter(torch.randn(cfg["n_positions"], d) * 0.02)
        resid_std = 0.02 / math.sqrt(2 * L)
        self.h = torch.nn.ModuleList(Block(d, cfg["n_head"], eps, resid_std) for _ in range(L))
        self.ln_f = torch.nn.LayerNorm(d, eps=eps)

    def forward(self, ids):
        T = ids.shape[1]
        x = self.wte[ids] + self.wpe[:T]
        for b in self.h:
            x = b(x)
        return self.ln_f(x) @ self.wte.T


def load_init(model, folder):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    from gpt2_ref import read_safetensors
    w = {k[len("transformer."):] if k.startswith("transformer.") else k: torch.from_numpy(v.astype(np.float32))
         for k, v in read_safetensors(os.path.join(folder, "model.safetensors")).items()}
    names = {"wte.weight": model.wte, "wpe.weight": model.wpe, "ln_f.weight": model.ln_f.weight, "ln_f.bias": model.ln_f.bias}
    for i, b in enumerate(model.h):
        p = f"h.{i}."
        names.update({p + "ln_1.weight": b.ln_1.weight, p + "ln_1.bias": b.ln_1.bias,
                      p + "ln_2.weight": b.ln_2.weight, p + "ln_2.bias": b.ln_2.bias,
                      p + "attn.c_attn.weight": b.c_attn_w, p + "attn.c_attn.bias": b.c_attn_b,
                      p + "attn.c_proj.weight": b.attn_proj_w, p + "attn.c_proj.bias": b.attn_proj_b,
                      p + "mlp.c_fc.weight": b.c_fc_w, p + "mlp.c_fc.bias": b.c_fc_b,
                      p + "mlp.c_proj.weight": b.mlp_proj_w, p + "mlp.c_proj.bias": b.mlp_proj_b})
    with torch.no_grad():
        for k, param in names.items():
            param.copy_(w[k])


def lr_at(step, a):  # the same schedule as gpt2.TrainOptions.LearningRate
    if step < a.warmup:
        return a.min_lr + (a.lr - a.min_lr) * step / a.warmup
    frac = (step - a.warmup) / (a.steps - a.warmup)
    frac -= math.floor(frac)
    return a.min_lr + (a.lr - a.min_lr) * (1 + math.cos(math.pi * frac)) / 2


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--batches", required=True)
    p.add_argument("--config", required=True)
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("--seq", type=int, required=True)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--min-lr", type=float, default=1e-4)
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--clip", type=float, default=1.0)
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--init", help="start from this model folder's weights (the Go side's initial model)")
    a = p.parse_args()
    with open(a.config) as f:
        cfg = json.load(f)
    data = np.fromfile(a.batches, dtype="<i4")
    width = a.seq + 1
    if data.size % (a.batch * width):
        sys.exit(f"{a.batches}: {data.size} ids do not make whole batches of {a.batch}x{width}")
    data = torch.from_numpy(data.reshape(-1, a.batch, width).astype(np.int64))
    torch.manual_seed(a.seed)
    model = GPT2(cfg)
    if a.init:
        load_init(model, a.init)
    # GoMLX's Adam: decoupled decay lr*wd*w on every variable, eps 1e-7 (its default).
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, betas=(0.9, 0.95), eps=1e-7,
                            weight_decay=a.weight_decay)
    times = []
    for i, rows in enumerate(data):
        for g in opt.param_groups:
            g["lr"] = lr_at(i, a)
        start = time.perf_counter()
        logits = model(rows[:, :-1])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), rows[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if a.clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), a.clip)
        opt.step()
        el = time.perf_counter() - start
        times.append(el)
        print(f"step {i + 1} {loss.item():.5f} {el:.4f}", flush=True)
    if len(times) > 1:
        print(f"tokens_per_s {a.batch * a.seq * (len(times) - 1) / sum(times[1:]):.1f}")


if __name__ == "__main__":
    main()
