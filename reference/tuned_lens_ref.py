#!/usr/bin/python3
"""PyTorch reference of the tuned lens's training loss (lensnb/tune.go) and its
gradient, for lensnb's gradient test.

    /usr/bin/python3 reference/tuned_lens_ref.py IN.safetensors OUT.safetensors
    /usr/bin/python3 reference/tuned_lens_ref.py --time STEPS IN.safetensors

The second form times the whole training step in float32 (loss, backward, global
norm clipping, SGD with Nesterov momentum 0.9 and weight decay 1e-3, as
lensnb.TrainTunedLens) STEPS times and prints "tokens_per_s X" over the steps after
the first.

IN holds x [n, N, d] (translated states), hf [N, d] (final hidden states after
ln_f), W [n, d, d], b [n, d], wte [V, d], gain [d], bias [d] and, as metadata, eps.
OUT gets loss [1], per_layer [n], dW [n, d, d] and db [n, d], computed in float64:

    y_l = x_l + x_l W_l^T + b_l;  q_l = log_softmax(ln(y_l) wte^T);  p = softmax(hf wte^T)
    loss = sum_l mean_t KL(p_t || q_l,t)
"""
import json
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gpt2_ref import read_safetensors, write_safetensors  # noqa: E402


def timed(steps, src):
    torch.set_num_threads(int(os.environ.get("BENCH_TORCH_THREADS", "2")))
    t = {k: torch.from_numpy(v.astype(np.float32)) for k, v in read_safetensors(src).items()}
    W = torch.nn.Parameter(t["W"].clone())
    b = torch.nn.Parameter(t["b"].clone())
    x, hf, wte, gain, bias = t["x"], t["hf"], t["wte"], t["gain"], t["bias"]
    opt = torch.optim.SGD([W, b], lr=1e-3, momentum=0.9, nesterov=True, weight_decay=1e-3)
    import time
    secs = []
    for _ in range(steps):
        start = time.perf_counter()
        y = x + torch.einsum("sed,snd->sne", W, x) + b[:, None, :]
        normed = torch.nn.functional.layer_norm(y, (y.shape[-1],), gain, bias, 1e-5)
        log_q = torch.log_softmax(normed @ wte.T, dim=-1)
        with torch.no_grad():
            log_p = torch.log_softmax(hf @ wte.T, dim=-1)
        loss = (log_p.exp()[None] * (log_p[None] - log_q)).sum(-1).mean(-1).sum()
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_([W, b], 1.0)
        opt.step()
        secs.append(time.perf_counter() - start)
    tokens = x.shape[1]
    print(f"tokens_per_s {tokens * (len(secs) - 1) / sum(secs[1:]):.1f}")


def main():
    if sys.argv[1] == "--time":
        timed(int(sys.argv[2]), sys.argv[3])
        return
    src, dst = sys.argv[1], sys.argv[2]
    t = {k: torch.from_numpy(v.astype(np.float64)) for k, v in read_safetensors(src).items()}
    with open(src, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        eps = float(json.loads(f.read(n))["__metadata__"]["eps"])
    W = t["W"].clone().requires_grad_(True)
    b = t["b"].clone().requires_grad_(True)
    x, hf, wte = t["x"], t["hf"], t["wte"]
    y = x + torch.einsum("sed,snd->sne", W, x) + b[:, None, :]
    mu = y.mean(-1, keepdim=True)
    var = ((y - mu) ** 2).mean(-1, keepdim=True)
    normed = (y - mu) / torch.sqrt(var + eps) * t["gain"] + t["bias"]
    log_q = torch.log_softmax(normed @ wte.T, dim=-1)
    log_p = torch.log_softmax(hf @ wte.T, dim=-1)
    per_layer = (log_p.exp()[None] * (log_p[None] - log_q)).sum(-1).mean(-1)
    loss = per_layer.sum()
    loss.backward()
    out = {"loss": loss.detach().reshape(1), "per_layer": per_layer.detach(), "dW": W.grad, "db": b.grad}
    write_safetensors(dst, {k: v.numpy().astype(np.float32) for k, v in out.items()})


if __name__ == "__main__":
    main()
