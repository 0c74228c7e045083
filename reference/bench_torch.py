#!/usr/bin/python3
"""The PyTorch side of `make bench` (cmd/bench): GPT-2 with Hugging Face
GPT2LMHeadModel semantics in float32, written from scratch in PyTorch (no
transformers package), timed on the same work items as the Go side.

    /usr/bin/python3 reference/bench_torch.py --model DIR --item lens64

Protocol (the same as `go run ./cmd/bench -child ITEM`): the process loads the
model and prints "load SECONDS"; for the item "load" it then exits. Otherwise it
runs the item once (warm-up) and prints "ready SECONDS"; then for every line
"run" read on stdin it runs the item once more and prints the seconds it took.
It exits at end of input, so that its parent reads its peak RSS (ru_maxrss).

Items (see cmd/bench for the Go side):
  forward64, forward1024   logits for every position
  lens64, lens1024         prompt logit lens: 13 states (embeddings, blocks 0..10
                           with ln_f applied, the final ln_f output), lm_head,
                           log_softmax, top-5, entropy, KL(final || state) and the
                           ranks of the final top-1 and of the next token (not
                           with BENCH_TORCH_RANKS=0), all
                           vectorised over states and positions (positions in
                           chunks of 64: 832 rows x 50257 per chunk)
  course                   the course's Part 1: greedy generation of 10 tokens from
                           "Are cats good?" (ids 8491,11875,922,30) with a KV cache
                           (past_key_values) and hidden states, then lm_head + softmax
                           + top-5 on each of the 130 (step, state) vectors, one at a time
  matmul208                one [208,768] x [768,50257] matmul (x @ wte.T): the peak
  gen10                    greedy generation of 10 tokens from the course prompt
                           with hidden states, then the lens (as lens64) over the
                           10 steps' last positions

Scale sessions (`go run ./cmd/bench -scale`): with --session lens4,lens64,… the
process loads the model, prints "load SECONDS PEAK_GB", then runs each item once
in order and prints "ITEM SECONDS PEAK_GB" (PEAK_GB: ru_maxrss so far).
"""
import argparse
import json
import math
import os
import resource
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

torch.set_num_threads(int(os.environ.get("BENCH_TORCH_THREADS", "2")))

COURSE_IDS = [8491, 11875, 922, 30]  # "Are cats good?"
LENS_CHUNK = 64  # positions per vectorised lens chunk
# The Go lens reports the rank of the final top-1 token and of the next token in
# every cell, so by default this side computes them too; BENCH_TORCH_RANKS=0 skips
# them (they cost PyTorch two compare-and-count passes over [S, P, V]).
RANKS = os.environ.get("BENCH_TORCH_RANKS", "1") != "0"


def tokens(n, vocab=50257):
    return [(i * 7919 + 13) % min(50000, vocab) for i in range(n)]


def load_safetensors(path):
    """{name: float32 tensor}; the file is read once into memory, tensors are views."""
    with open(path, "rb") as f:
        n = int.from_bytes(f.read(8), "little")
        header = json.loads(f.read(n))
        size = os.fstat(f.fileno()).st_size - 8 - n
        buf = bytearray(size)
        f.readinto(buf)
    data = np.frombuffer(buf, dtype=np.uint8)
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            raise SystemExit(f"{path}: {name} is {info['dtype']}; the benchmark model is F32")
        b, e = info["data_offsets"]
        a = data[b:e].view("<f4").reshape(info["shape"])
        k = name[len("transformer."):] if name.startswith("transformer.") else name
        out[k] = torch.from_numpy(a)
    return out


class GPT2:
    """Float32 GPT-2, HF semantics: pre-norm blocks, Conv1D = addmm(b, x, W),
    gelu_new (tanh approximation), causal softmax attention, ln_f, tied lm_head."""

    def __init__(self, model_dir):
        with open(os.path.join(model_dir, "config.json")) as f:
            cfg = json.load(f)
        self.L, self.H, self.D = cfg["n_layer"], cfg["n_head"], cfg["n_embd"]
        self.V, self.eps = cfg["vocab_size"], cfg.get("layer_norm_epsilon", 1e-5)
        self.w = load_safetensors(os.path.join(model_dir, "model.safetensors"))
        self.wte, self.wpe = self.w["wte.weight"], self.w["wpe.weight"]

    def ln(self, x, p):
        return F.layer_norm(x, (self.D,), self.w[p + ".weight"], self.w[p + ".bias"], self.eps)

    def final_norm(self, x):
        return self.ln(x, "ln_f")

    @property
    def unembed(self):
        return self.wte

    def conv1d(self, x, p):
        shape = x.shape[:-1]
        y = torch.addmm(self.w[p + ".bias"], x.reshape(-1, x.shape[-1]), self.w[p + ".weight"])
        return y.view(*shape, -1)

    def attn(self, x, i, past=None):
        """x [T, D]; past (k, v) [H, T0, hd] or None. Returns output and the new (k, v)."""
        T, D, H = x.shape[0], self.D, self.H
        hd = D // H
        q, k, v = self.conv1d(x, f"h.{i}.attn.c_attn").split(D, dim=-1)
        q, k, v = (t.view(T, H, hd).transpose(0, 1) for t in (q, k, v))  # [H, T, hd]
        if past is not None:
            k, v = torch.cat([past[0], k], dim=1), torch.cat([past[1], v], dim=1)
        S = k.shape[1]
        w = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(hd)  # [H, T, S]
        if T > 1:  # causal mask (a single new token sees every past slot)
            mask = torch.ones(T, S, dtype=torch.bool).tril(S - T)
            w = torch.where(mask, w, torch.tensor(torch.finfo(w.dtype).min, dtype=w.dtype))
        w = torch.softmax(w, dim=-1)
        z = torch.matmul(w, v).transpose(0, 1).reshape(T, D)
        return self.conv1d(z, f"h.{i}.attn.c_proj"), (k, v)

    def forward(self, ids, start=0, past=None, hidden=False, logits="all"):
        """HF forward for one sequence: returns (logits, hidden_states, presents)."""
        ids = torch.as_tensor(ids)
        x = self.wte[ids] + self.wpe[start:start + len(ids)]
        hs, presents = [x] if hidden else None, []
        for i in range(self.L):
            a, kv = self.attn(self.ln(x, f"h.{i}.ln_1"), i, None if past is None else past[i])
            presents.append(kv)
            x = x + a
            m = self.conv1d(F.gelu(self.conv1d(self.ln(x, f"h.{i}.ln_2"), f"h.{i}.mlp.c_fc"), approximate="tanh"),
                            f"h.{i}.mlp.c_proj")
            x = x + m
            if hidden and i < self.L - 1:
                hs.append(x)
        x = self.ln(x, "ln_f")
        if hidden:
            hs.append(x)
        out = None
        if logits == "all":
            out = F.linear(x, self.wte)
        elif logits == "last":
            out = F.linear(x[-1:], self.wte)
        return out, hs, presents


class Family:
    """Float32 Llama / Qwen2 / Qwen3 / GPT-NeoX with Hugging Face semantics (as
    reference/families_ref.py, which checks ours at float64): RMSNorm or LayerNorm,
    rotary embeddings (rotate_half; partial for GPT-NeoX) at absolute positions,
    grouped-query attention, SwiGLU or exact GELU, parallel residual, a KV cache."""

    def __init__(self, model_dir):
        with open(os.path.join(model_dir, "config.json")) as f:
            c = json.load(f)
        self.kind, self.neox = c["model_type"], c["model_type"] == "gpt_neox"
        self.L, self.H, self.D, self.V = c["num_hidden_layers"], c["num_attention_heads"], c["hidden_size"], c["vocab_size"]
        self.KV = self.H if self.neox else c.get("num_key_value_heads") or self.H
        self.hd = self.D // self.H if self.neox else c.get("head_dim") or self.D // self.H
        self.eps = c.get("layer_norm_eps", 1e-5) if self.neox else c.get("rms_norm_eps", 1e-6)
        self.rd = int(self.hd * (c.get("rotary_pct", 0.25) if self.neox else 1.0))
        base = c.get("rotary_emb_base", 10000.0) if self.neox else c.get("rope_theta", 10000.0)
        self.inv_freq = 1.0 / base ** (torch.arange(0, self.rd, 2, dtype=torch.float32) / self.rd)
        self.parallel = self.neox and c.get("use_parallel_residual", True)
        self.w = load_safetensors(os.path.join(model_dir, "model.safetensors"))
        emb = "gpt_neox.embed_in.weight" if self.neox else "model.embed_tokens.weight"
        self.embed = self.w[emb]
        tied = c.get("tie_word_embeddings", False)
        self._unembed = self.embed if tied else self.w["embed_out.weight" if self.neox else "lm_head.weight"]
        self.bias = self.kind == "qwen2" or c.get("attention_bias", False)
        self.pre = "gpt_neox.layers" if self.neox else "model.layers"
        self.final = "gpt_neox.final_layer_norm" if self.neox else "model.norm"

    @property
    def unembed(self):
        return self._unembed

    def norm(self, x, p, w=None):
        if self.neox:
            return F.layer_norm(x, (x.shape[-1],), self.w[p + ".weight"], self.w[p + ".bias"], self.eps)
        w = self.w[p + ".weight"] if w is None else w
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * w

    def final_norm(self, x):
        return self.norm(x, self.final)

    def lin(self, x, p, bias):
        return F.linear(x, self.w[p + ".weight"], self.w[p + ".bias"] if bias else None)

    def rotate(self, x, start):
        if self.rd == 0:
            return x
        T = x.shape[1]
        ang = torch.arange(start, start + T, dtype=torch.float32)[:, None] * self.inv_freq[None, :]
        emb = torch.cat([ang, ang], -1)
        r, rest = x[..., :self.rd], x[..., self.rd:]
        half = torch.cat([-r[..., self.rd // 2:], r[..., :self.rd // 2]], -1)
        return torch.cat([r * emb.cos() + half * emb.sin(), rest], -1)

    def attn(self, x, i, start, past):
        T, H, KV, hd = x.shape[0], self.H, self.KV, self.hd
        if self.neox:
            p = f"{self.pre}.{i}.attention"
            qkv = self.lin(x, p + ".query_key_value", True).view(T, H, 3, hd)
            q, k, v = (qkv[:, :, j].transpose(0, 1) for j in range(3))
        else:
            p = f"{self.pre}.{i}.self_attn"
            q = self.lin(x, p + ".q_proj", self.bias).view(T, H, hd).transpose(0, 1)
            k = self.lin(x, p + ".k_proj", self.bias).view(T, KV, hd).transpose(0, 1)
            v = self.lin(x, p + ".v_proj", self.bias).view(T, KV, hd).transpose(0, 1)
            if self.kind == "qwen3":
                q, k = self.norm(q, None, self.w[p + ".q_norm.weight"]), self.norm(k, None, self.w[p + ".k_norm.weight"])
        q, k = self.rotate(q, start), self.rotate(k, start)
        if past is not None:
            k, v = torch.cat([past[0], k], 1), torch.cat([past[1], v], 1)
        kv = (k, v)
        k, v = k.repeat_interleave(H // KV, 0), v.repeat_interleave(H // KV, 0)
        S = k.shape[1]
        w = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(hd)
        if T > 1:
            mask = torch.ones(T, S, dtype=torch.bool).tril(S - T)
            w = torch.where(mask, w, torch.tensor(torch.finfo(w.dtype).min, dtype=w.dtype))
        z = torch.matmul(torch.softmax(w, -1), v).transpose(0, 1).reshape(T, H * hd)
        return (self.lin(z, p + ".dense", True) if self.neox else self.lin(z, p + ".o_proj", False)), kv

    def mlp(self, x, i):
        if self.neox:
            p = f"{self.pre}.{i}.mlp"
            return self.lin(F.gelu(self.lin(x, p + ".dense_h_to_4h", True)), p + ".dense_4h_to_h", True)
        p = f"{self.pre}.{i}.mlp"
        return self.lin(F.silu(self.lin(x, p + ".gate_proj", False)) * self.lin(x, p + ".up_proj", False), p + ".down_proj", False)

    def forward(self, ids, start=0, past=None, hidden=False, logits="all"):
        x = self.embed[torch.as_tensor(ids)]
        hs, presents = [x] if hidden else None, []
        for i in range(self.L):
            p = f"{self.pre}.{i}"
            a, kv = self.attn(self.norm(x, p + ".input_layernorm"), i, start, None if past is None else past[i])
            presents.append(kv)
            mid = x + a
            x = mid + self.mlp(self.norm(x if self.parallel else mid, p + ".post_attention_layernorm"), i)
            if hidden and i < self.L - 1:
                hs.append(x)
        x = self.final_norm(x)
        if hidden:
            hs.append(x)
        out = None
        if logits == "all":
            out = F.linear(x, self._unembed)
        elif logits == "last":
            out = F.linear(x[-1:], self._unembed)
        return out, hs, presents


def load_model(model_dir):
    with open(os.path.join(model_dir, "config.json")) as f:
        kind = json.load(f).get("model_type", "gpt2")
    return GPT2(model_dir) if kind == "gpt2" else Family(model_dir)


def lens(model, ids):
    """Prompt logit lens, vectorised over states and (chunks of) positions."""
    _, hs, _ = model.forward(ids, hidden=True, logits=None)
    return lens_of_states(model, torch.stack(hs), torch.tensor(ids[1:] + [ids[-1]]))


def lens_of_states(model, h, nxt):
    """The lens statistics of hidden states h [S, T, D] (the last state is the
    model's final output, ln_f applied), nxt [T] the token after each column."""
    S, T = h.shape[0], h.shape[1]
    res = []
    for c0 in range(0, T, LENS_CHUNK):
        c1 = min(T, c0 + LENS_CHUNK)
        x = torch.cat([model.final_norm(h[:-1, c0:c1]), h[-1:, c0:c1]])  # the final norm on every state but the last
        z = F.linear(x, model.unembed)  # [S, P, V]
        lp = torch.log_softmax(z, dim=-1)
        top_lp, top_ids = lp.topk(5, dim=-1)
        p = lp.exp()
        entropy = -(p * lp).sum(-1)
        kl = (p[-1:] * (lp[-1:] - lp)).sum(-1)  # KL(final || state)
        out = [top_ids, top_lp.exp(), entropy, kl]
        if RANKS:
            final_top = top_ids[-1, :, 0]  # [P]
            P = c1 - c0
            pick = lambda t: z.gather(-1, t.view(1, P, 1).expand(S, P, 1))
            out += [(z > pick(final_top)).sum(-1), (z > pick(nxt[c0:c1])).sum(-1)]
        res.append([t.numpy() for t in out])
    return res


def generate_with_hidden(model, ids, n):
    """HF greedy generate with past_key_values and output_hidden_states."""
    seq, steps, past = list(ids), [], None
    feed, start = list(ids), 0
    for _ in range(n):
        logits, hs, past = model.forward(feed, start=start, past=past, hidden=True, logits="last")
        tok = int(logits[-1].argmax())
        steps.append(hs)
        start += len(feed)
        seq.append(tok)
        feed = [tok]
    return seq, steps


def generation_lens(model, ids, n):
    """Greedy generation of n tokens with hidden states, then the lens (ln_f, top-5,
    entropy, KL, ranks) over each step's last position: the Go side's
    lensnb.Generate with default options."""
    seq, steps = generate_with_hidden(model, ids, n)
    h = torch.stack([torch.stack([s[-1] for s in hs]) for hs in steps], dim=1)  # [S, n, D]
    return lens_of_states(model, h, torch.tensor(seq[len(ids):]))


def course(model):
    """The course's Part 1: lm_head + softmax on each step's hidden states, one at a time."""
    seq, steps = generate_with_hidden(model, COURSE_IDS, 10)
    table = []
    for hs in steps:
        row = []
        for h in hs:  # 13 states
            logits = F.linear(h[-1], model.wte)  # the course applies lm_head to the raw state
            probs = torch.softmax(logits, dim=-1)
            p, t = probs.topk(5)
            row.append((t.tolist(), p.tolist()))
        table.append(row)
    return seq, table


def make_item(model, item):
    if item.startswith("forward"):
        ids = tokens(int(item[len("forward"):]), model.V)
        return lambda: model.forward(ids)[0].numpy()
    if item.startswith("lens"):
        ids = tokens(int(item[len("lens"):]), model.V)
        return lambda: lens(model, ids)
    if item == "course":
        return lambda: course(model)
    if item.startswith("gen"):
        return lambda: generation_lens(model, COURSE_IDS, int(item[len("gen"):]))
    if item.startswith("matmul"):
        g = torch.Generator().manual_seed(0)
        x = torch.randn(int(item[len("matmul"):]), model.D, generator=g)
        return lambda: F.linear(x, model.wte)
    raise SystemExit(f"bench_torch: unknown item {item!r}")


def peak_gb():
    """This process's peak RSS so far (Linux: ru_maxrss is in KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024 / 1e9


def session(model, items):
    """Scale session: each item once, in order, in this one process."""
    for item in items:
        run = make_item(model, item)
        t0 = time.perf_counter()
        run()
        print(f"{item} {time.perf_counter() - t0:.6f} {peak_gb():.4f}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True)
    ap.add_argument("--item")
    ap.add_argument("--session", help="comma-separated items, each run once in this process (scale table)")
    a = ap.parse_args()
    if bool(a.item) == bool(a.session):
        raise SystemExit("bench_torch: give --item or --session")
    with torch.inference_mode():
        t0 = time.perf_counter()
        model = load_model(a.model)
        if a.session:
            print(f"load {time.perf_counter() - t0:.6f} {peak_gb():.4f}", flush=True)
            session(model, a.session.split(","))
            return
        print(f"load {time.perf_counter() - t0:.6f}", flush=True)
        if a.item == "load":
            return
        run = make_item(model, a.item)
        t0 = time.perf_counter()
        run()
        print(f"ready {time.perf_counter() - t0:.6f}", flush=True)
        for line in sys.stdin:
            if line.strip() != "run":
                continue
            t0 = time.perf_counter()
            run()
            print(f"{time.perf_counter() - t0:.6f}", flush=True)


if __name__ == "__main__":
    main()
