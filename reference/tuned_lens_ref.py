#!/usr/bin/python3
"""PyTorch reference of the tuned lens's training loss (lensnb/tune.go) and its
gradient, for lensnb's gradient test.

    /usr/bin/python3 reference/tuned_lens_ref.py IN.safetensors OUT.safetensors

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


def main():
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
