#!/usr/bin/env bash
# Self-test of reference/families_ref.py on random tiny models of every family (Llama,
# Qwen2, Qwen3, GPT-NeoX; 2 layers, hidden 32-64): GQA ratios 1, 2 and 4, head_dim !=
# hidden/heads, tied and untied heads, llama3 and linear RoPE scaling, NeoX's partial
# rotary with a parallel and a sequential residual. Checks internal consistency and a
# second, loop-based numpy forward pass written separately from the module's; no real
# weights needed. Prints "N passed, N failed" and exits non-zero on any failure.
set -euo pipefail
PY=/usr/bin/python3
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
HERE="$(cd "$(dirname "$0")" && pwd)"
REF="$HERE/families_ref.py"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
IDS=8491,11875,922,30,198,464

# One command-line run of each mode (default vocabulary 50257); the checks below run
# further fixtures in-process.
"$PY" "$REF" mkfixture --family qwen3 --out "$TMP/cli" --seed 3 --kv-heads 2 --head-dim 16 --tied
"$PY" "$REF" forward --model "$TMP/cli" --ids $IDS --out "$TMP/cli_forward.json"
"$PY" "$REF" lens    --model "$TMP/cli" --ids $IDS --final-norm true --topk 3 --target 13 --out "$TMP/cli_lens.json"

exec "$PY" - "$REF" "$TMP" "$IDS" <<'EOF'
import contextlib, copy, importlib.util, io, json, math, os, shutil, sys
import numpy as np
import torch

ref_path, tmp, ids = sys.argv[1], sys.argv[2], [int(s) for s in sys.argv[3].split(",")]
spec = importlib.util.spec_from_file_location("families_ref", ref_path)
ref = importlib.util.module_from_spec(spec); spec.loader.exec_module(ref)
T = len(ids)
VOCAB = 1000
small_ids = [i % VOCAB for i in ids]
passed = failed = 0

def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1; print(f"ok   {name}")
    else:
        failed += 1; print(f"FAIL {name} {detail}")

def close(a, b, tol=1e-10):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=0, atol=tol))

def maxdiff(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.abs(a - b).max()) if a.shape == b.shape else float("inf")

def run(name, *argv):  # in-process run of the CLI
    out = os.path.join(tmp, name)
    ref.main(list(argv) + ["--out", out])
    with open(out) as f:
        return json.load(f)

def fails_with(words, fn):
    """fn raises SystemExit whose message holds every word."""
    try:
        with contextlib.redirect_stderr(io.StringIO()):
            fn()
    except SystemExit as e:
        return all(w in str(e) for w in words)
    return False

def load_cfg(d):
    with open(os.path.join(d, "config.json")) as f:
        return json.load(f)

def write_model(d, cfg, W):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f)
    ref.write_safetensors(os.path.join(d, "model.safetensors"), W)

def forward(d, seq=None):
    with torch.no_grad():
        out = ref.Family(d).forward(seq or small_ids)
    return {"logits": out["logits"].numpy(), "hidden_states": [h.numpy() for h in out["hidden_states"]],
            "hooks": {k: v.numpy() for k, v in out["hooks"].items()}}

# ------------------------------------------------ a second forward pass, numpy, loops

def np_inv_freq(rd, base, scaling):
    f = [base ** (-(2.0 * i) / rd) for i in range(rd // 2)]
    kind = (scaling or {}).get("rope_type", (scaling or {}).get("type"))
    if kind == "linear":
        return np.array([x / scaling["factor"] for x in f])
    if kind == "llama3":
        fac, lo, hi = scaling["factor"], scaling["low_freq_factor"], scaling["high_freq_factor"]
        orig = scaling["original_max_position_embeddings"]
        out = []
        for x in f:
            wl = 2 * math.pi / x
            if wl < orig / hi:
                out.append(x)                      # high frequency: kept
            elif wl > orig / lo:
                out.append(x / fac)                # low frequency: divided by factor
            else:
                s = (orig / wl - lo) / (hi - lo)   # in between: blended
                out.append((1 - s) * x / fac + s * x)
        return np.array(out)
    return np.array(f)

def np_forward(d, seq):
    c = load_cfg(d)
    W = ref.read_safetensors(os.path.join(d, "model.safetensors"))
    fam = c["model_type"]
    neox = fam == "gpt_neox"
    D, H, L = c["hidden_size"], c["num_attention_heads"], c["num_hidden_layers"]
    if neox:
        KV, hd, eps = H, D // H, c["layer_norm_eps"]
        rd, base, pre = int(hd * c["rotary_pct"]), c["rotary_emb_base"], "gpt_neox.layers"
    else:
        KV, hd, eps = c["num_key_value_heads"], c.get("head_dim") or D // H, c["rms_norm_eps"]
        rd, base, pre = hd, c["rope_theta"], "model.layers"
    freqs = np_inv_freq(rd, base, c.get("rope_scaling"))
    qkv_b = fam == "qwen2" or c.get("attention_bias", neox)
    o_b = neox or (fam != "qwen2" and c.get("attention_bias", False))

    def norm(x, name):
        if neox:
            m = x.mean(-1, keepdims=True)
            return (x - m) / np.sqrt(((x - m) ** 2).mean(-1, keepdims=True) + eps) * W[name + ".weight"] + W[name + ".bias"]
        return x / np.sqrt((x ** 2).mean(-1, keepdims=True) + eps) * W[name + ".weight"]

    def lin(x, name, bias):
        return x @ W[name + ".weight"].T + (W[name + ".bias"] if bias else 0)

    def rope(vec, pos):  # rotate_half convention, written pair by pair
        out, h = vec.copy(), rd // 2
        for i in range(h):
            a = pos * freqs[i]
            out[i] = vec[i] * math.cos(a) - vec[i + h] * math.sin(a)
            out[i + h] = vec[i + h] * math.cos(a) + vec[i] * math.sin(a)
        return out

    emb = W["gpt_neox.embed_in.weight" if neox else "model.embed_tokens.weight"]
    x = emb[seq]
    n = len(seq)
    hooks, hidden = {}, [x]
    for l in range(L):
        p = f"{pre}.{l}."
        hooks[f"blocks.{l}.hook_resid_pre"] = x
        xn = norm(x, p + "input_layernorm")
        q, k, v = np.zeros((n, H, hd)), np.zeros((n, KV, hd)), np.zeros((n, KV, hd))
        if neox:
            fused = lin(xn, p + "attention.query_key_value", qkv_b)
            for h in range(H):  # per head: rows h*3*hd + [q | k | v]
                q[:, h] = fused[:, h * 3 * hd: h * 3 * hd + hd]
                k[:, h] = fused[:, h * 3 * hd + hd: h * 3 * hd + 2 * hd]
                v[:, h] = fused[:, h * 3 * hd + 2 * hd: h * 3 * hd + 3 * hd]
        else:
            a = p + "self_attn."
            qf, kf, vf = lin(xn, a + "q_proj", qkv_b), lin(xn, a + "k_proj", qkv_b), lin(xn, a + "v_proj", qkv_b)
            for h in range(H):
                q[:, h] = qf[:, h * hd:(h + 1) * hd]
            for h in range(KV):
                k[:, h], v[:, h] = kf[:, h * hd:(h + 1) * hd], vf[:, h * hd:(h + 1) * hd]
            if fam == "qwen3":
                q = q / np.sqrt((q ** 2).mean(-1, keepdims=True) + eps) * W[a + "q_norm.weight"]
                k = k / np.sqrt((k ** 2).mean(-1, keepdims=True) + eps) * W[a + "k_norm.weight"]
        hooks[f"blocks.{l}.unrotated_q"] = q.copy()
        for t in range(n):
            for h in range(H):
                q[t, h] = rope(q[t, h], t)
            for h in range(KV):
                k[t, h] = rope(k[t, h], t)
        hooks[f"blocks.{l}.attn.hook_rot_q"], hooks[f"blocks.{l}.attn.hook_rot_k"] = q, k
        z = np.zeros((n, H, hd))
        for h in range(H):
            g = h // (H // KV)
            for t in range(n):
                s = np.array([q[t, h] @ k[u, g] / math.sqrt(hd) for u in range(t + 1)])
                w = np.exp(s - s.max()); w /= w.sum()
                z[t, h] = sum(w[u] * v[u, g] for u in range(t + 1))
        hooks[f"blocks.{l}.attn.hook_z"] = z
        att = lin(z.reshape(n, H * hd), p + ("attention.dense" if neox else "self_attn.o_proj"), o_b)
        par = neox and c.get("use_parallel_residual", True)
        mid = x + att
        m_in = norm(x if par else mid, p + "post_attention_layernorm")
        if neox:
            hmid = lin(m_in, p + "mlp.dense_h_to_4h", True)
            mlp = lin(0.5 * hmid * (1 + np.vectorize(math.erf)(hmid / math.sqrt(2))), p + "mlp.dense_4h_to_h", True)
        else:
            g_ = lin(m_in, p + "mlp.gate_proj", False)
            mlp = lin(g_ / (1 + np.exp(-g_)) * lin(m_in, p + "mlp.up_proj", False), p + "mlp.down_proj", False)
        hooks[f"blocks.{l}.hook_attn_out"], hooks[f"blocks.{l}.hook_resid_mid"] = att, mid
        hooks[f"blocks.{l}.hook_mlp_out"] = mlp
        x = mid + mlp
        hooks[f"blocks.{l}.hook_resid_post"] = x
        hidden.append(x)
    hidden[-1] = norm(x, "gpt_neox.final_layer_norm" if neox else "model.norm")
    un = emb if c.get("tie_word_embeddings", False) else W["embed_out.weight" if neox else "lm_head.weight"]
    return {"logits": hidden[-1] @ un.T, "hidden_states": hidden, "hooks": hooks, "W": W, "cfg": c, "unembed": un,
            "eps": eps, "rd": rd, "hd": hd, "freqs": freqs}

# ------------------------------------------------ fixtures

def mk(seed, name, family, *extra):
    d = os.path.join(tmp, name)
    ref.main(["mkfixture", "--family", family, "--out", d, "--seed", str(seed),
              "--vocab-size", str(VOCAB), "--max-positions", "64"] + list(extra))
    return d

FIX = {
    "llama mha untied":        ("llama", "--heads", "4", "--kv-heads", "4"),
    "llama gqa2 tied llama3":  ("llama", "--heads", "4", "--kv-heads", "2", "--tied", "--rope-scaling", "llama3"),
    "llama gqa4 linear bias":  ("llama", "--heads", "4", "--kv-heads", "1", "--rope-scaling", "linear", "--attention-bias"),
    "qwen2 gqa2 tied":         ("qwen2", "--heads", "4", "--kv-heads", "2", "--tied"),
    "qwen2 mha hidden48":      ("qwen2", "--hidden", "48", "--heads", "4", "--intermediate", "96"),
    "qwen3 gqa2 hd16 tied":    ("qwen3", "--heads", "4", "--kv-heads", "2", "--head-dim", "16", "--tied"),
    "qwen3 gqa4 hd8 h64 bias llama3": ("qwen3", "--hidden", "64", "--heads", "4", "--kv-heads", "1", "--head-dim", "8",
                                       "--attention-bias", "--rope-scaling", "llama3"),
    "neox parallel pct.25":    ("gpt_neox", "--hidden", "64", "--heads", "4", "--rotary-pct", "0.25"),
    "neox sequential pct.25":  ("gpt_neox", "--hidden", "64", "--heads", "4", "--rotary-pct", "0.25", "--parallel-residual", "false"),
    "neox sequential pct.5 h32": ("gpt_neox", "--hidden", "32", "--heads", "2", "--rotary-pct", "0.5", "--parallel-residual", "false",
                                  "--intermediate", "48"),
}
dirs = {name: mk(n + 1, name.replace(" ", "_"), *spec) for n, (name, spec) in enumerate(FIX.items())}

REQUIRED = {
    "llama": ["hidden_size", "num_hidden_layers", "num_attention_heads", "num_key_value_heads", "intermediate_size",
              "rms_norm_eps", "rope_theta", "max_position_embeddings", "tie_word_embeddings", "head_dim",
              "rope_scaling", "vocab_size", "bos_token_id", "eos_token_id", "hidden_act"],
    "gpt_neox": ["hidden_size", "num_attention_heads", "num_hidden_layers", "intermediate_size", "rotary_pct",
                 "rotary_emb_base", "use_parallel_residual", "layer_norm_eps", "hidden_act",
                 "max_position_embeddings", "tie_word_embeddings", "vocab_size"],
}
REQUIRED["qwen2"] = [k for k in REQUIRED["llama"] if k != "head_dim"]
REQUIRED["qwen3"] = REQUIRED["llama"]

for name, d in dirs.items():
    fam = FIX[name][0]
    c = load_cfg(d)
    names = set(ref.read_safetensors(os.path.join(d, "model.safetensors")))
    head = "embed_out.weight" if fam == "gpt_neox" else "lm_head.weight"
    check(f"[{name}] config keys, model_type, architectures",
          all(k in c for k in REQUIRED[fam]) and c["model_type"] == fam
          and c["architectures"] == [ref.ARCHITECTURES[fam]])
    check(f"[{name}] tied/untied head in the file", (head in names) != c["tie_word_embeddings"])

    fw = forward(d)
    lg, hs, hk = fw["logits"], fw["hidden_states"], fw["hooks"]
    m = ref.Family(d)
    L, D = m.L, m.D
    check(f"[{name}] shapes, finite and non-degenerate logits",
          lg.shape == (T, VOCAB) and len(hs) == L + 1 and all(h.shape == (T, D) for h in hs)
          and bool(np.isfinite(lg).all()) and lg.max() - lg.min() > 1.0, f"range {lg.max() - lg.min()}")

    # the loop-based numpy forward pass agrees on everything
    nf = np_forward(d, small_ids)
    worst = max([maxdiff(lg, nf["logits"])] + [maxdiff(a, b) for a, b in zip(hs, nf["hidden_states"])]
                + [maxdiff(hk[k], nf["hooks"][k]) for k in nf["hooks"] if k in hk])
    check(f"[{name}] = the numpy loop forward (logits, hidden states, hooks)", worst < 1e-9, f"max diff {worst}")

    # hook chain and HF hidden-state order
    ok = close(hs[0], nf["W"]["gpt_neox.embed_in.weight" if fam == "gpt_neox" else "model.embed_tokens.weight"][small_ids], 0)
    for i in range(L):
        pre, att, mid, mlp, post = (hk[f"blocks.{i}.hook_{n}"] for n in ("resid_pre", "attn_out", "resid_mid", "mlp_out", "resid_post"))
        ok &= close(mid, pre + att) and close(post, pre + att + mlp) and close(post, mid + mlp)
        if i < L - 1:
            ok &= close(hs[i + 1], post, 0) and close(hk[f"blocks.{i + 1}.hook_resid_pre"], post, 0)
        pat = hk[f"blocks.{i}.attn.hook_pattern"]
        ok &= close(pat.sum(-1), np.ones((m.H, T))) and close(np.triu(pat, 1), np.zeros_like(pat), 0)
    check(f"[{name}] hooks: resid_mid = pre + attn, post = pre + attn + mlp; causal patterns", ok)

    # final norm: hook_normalized, its RMS/LN statistics, and hidden_states[-1], logits
    last = hk[f"blocks.{L - 1}.hook_resid_post"]
    nrm, eps = hk["ln_final.hook_normalized"], nf["eps"]
    if fam == "gpt_neox":
        var = last.var(-1, keepdims=True)
        ok = close(nrm.mean(-1), np.zeros(T)) and close((nrm ** 2).mean(-1, keepdims=True), var / (var + eps), 1e-12)
        ok &= close(nrm * nf["W"]["gpt_neox.final_layer_norm.weight"] + nf["W"]["gpt_neox.final_layer_norm.bias"], hs[-1])
        ok &= close(hk["ln_final.hook_scale"], np.sqrt(var + eps))
    else:
        ms = (last ** 2).mean(-1, keepdims=True)
        ok = close((nrm ** 2).mean(-1, keepdims=True), ms / (ms + eps), 1e-12) and close(nrm * np.sqrt(ms + eps), last)
        ok &= close(nrm * nf["W"]["model.norm.weight"], hs[-1]) and close(hk["ln_final.hook_scale"], np.sqrt(ms + eps))
    ok &= close(lg, hs[-1] @ nf["unembed"].T, 1e-9)
    if c["tie_word_embeddings"]:
        ok &= m.unembed is m.embed
    check(f"[{name}] final norm statistics (RMSNorm/LayerNorm), logits = final_norm(h) @ W_U.T", ok)

    # rotary: the rotation preserves the norm of q and k per head and position, leaves
    # position 0 and the dims past rotary_ndims alone
    rq, uq, rd = hk["blocks.0.attn.hook_rot_q"], nf["hooks"]["blocks.0.unrotated_q"], nf["rd"]
    ok = close(np.linalg.norm(rq, axis=-1), np.linalg.norm(uq, axis=-1), 1e-12) and close(rq[0], uq[0], 1e-12)
    ok &= close(rq[..., rd:], uq[..., rd:], 1e-12) and not close(rq[1:, :, :rd], uq[1:, :, :rd], 1e-3)
    check(f"[{name}] rotation keeps |q|, position 0 and dims >= rotary_ndims={rd}", ok)
    g = torch.Generator().manual_seed(0)
    a_, b_ = torch.randn(m.hd, generator=g), torch.randn(m.hd, generator=g)
    def rot(v, pos):
        cos, sin = m.rotary([pos])
        return ref.apply_rotary(v[None], cos, sin)[0]
    dots = [float(rot(a_, p0 + 5) @ rot(b_, p0)) for p0 in (0, 3, 17, 40)]
    check(f"[{name}] rotary: <R(p+5)q, R(p)k> depends on the offset only", close(dots, [dots[0]] * 4, 1e-10))
    check(f"[{name}] inverse frequencies = numpy scalar formula", close(m.inv_freq.numpy(), nf["freqs"], 1e-15))

    # causality: a prefix's logits are the first rows of the longer run
    one = forward(d, small_ids[:1])["logits"]
    three = forward(d, small_ids[:3])["logits"]
    check(f"[{name}] causality: 1- and 3-token prefixes = first rows of the {T}-token run",
          close(one[0], lg[0], 1e-10) and close(three, lg[:3], 1e-10))

    # lens: the last state is the model's own logits, with and without the final norm;
    # the others are final_norm(h) @ W_U.T or h @ W_U.T
    M = ["--model", d, "--ids", ",".join(map(str, small_ids))]
    for fn in ("true", "false"):
        ln = run("lens.json", "lens", *M, "--final-norm", fn, "--topk", "4")
        ok = ln["states"] == ["embeddings"] + [f"blocks.{i}" for i in range(L)] and ln["final_norm"] == (fn == "true")
        for t in range(T):
            cl, row = ln["cells"][-1][t], lg[t]
            ok &= cl["kl_to_final"] == 0.0 and cl["rank_of_final"] == 0 and cl["final_top1"] == int(np.argmax(row))
            ok &= close(cl["topk_logits"], np.sort(row)[::-1][:4], 0)
        for s in range(L):
            h = hs[s]
            lh = (m.norm(torch.from_numpy(h), m.final).numpy() if fn == "true" else h) @ nf["unembed"].T
            ok &= all(close(ln["cells"][s][t]["topk_logits"], np.sort(lh[t])[::-1][:4], 1e-9) for t in range(T))
            ok &= all(ln["cells"][s][t]["kl_to_final"] > 0 for t in range(T))
        check(f"[{name}] lens --final-norm {fn}: last state = forward logits, others = lens logits", ok)

# ------------------------------------------------ family-specific semantics

# GQA: a GQA model equals the MHA model whose k/v projections repeat each kv head for its group
for name in ("llama gqa2 tied llama3", "llama gqa4 linear bias", "qwen3 gqa4 hd8 h64 bias llama3"):
    d = dirs[name]
    c, W = load_cfg(d), ref.read_safetensors(os.path.join(d, "model.safetensors"))
    H, KV = c["num_attention_heads"], c["num_key_value_heads"]
    hd = c.get("head_dim") or c["hidden_size"] // H
    W2 = dict(W)
    for k in W:
        if ".k_proj." in k or ".v_proj." in k:
            a = W[k].reshape(KV, hd, -1)
            W2[k] = np.repeat(a, H // KV, axis=0).reshape((H * hd,) + W[k].shape[1:])
    write_model(os.path.join(tmp, "mha"), dict(c, num_key_value_heads=H), W2)
    d2 = maxdiff(forward(d)["logits"], forward(os.path.join(tmp, "mha"))["logits"])
    check(f"[{name}] GQA = MHA with k/v heads repeated per group (kv head j -> query heads j*g..j*g+g-1)", d2 < 1e-10, f"{d2}")
    if KV == 1:
        continue
    W3 = dict(W2)  # the other grouping (kv head = query head mod KV) must differ
    for k in W:
        if ".k_proj." in k or ".v_proj." in k:
            a = W[k].reshape(KV, hd, -1)
            W3[k] = np.tile(a, (H // KV, 1, 1)).reshape((H * hd,) + W[k].shape[1:])
    write_model(os.path.join(tmp, "mha_wrong"), dict(c, num_key_value_heads=H), W3)
    check(f"[{name}] GQA check discriminates (tiled grouping differs)",
          maxdiff(forward(d)["logits"], forward(os.path.join(tmp, "mha_wrong"))["logits"]) > 1e-3)

# Qwen2 = Llama with attention_bias and a zero o_proj bias
d = dirs["qwen2 gqa2 tied"]
c, W = load_cfg(d), ref.read_safetensors(os.path.join(d, "model.safetensors"))
W2 = dict(W)
for i in range(c["num_hidden_layers"]):
    W2[f"model.layers.{i}.self_attn.o_proj.bias"] = np.zeros(c["hidden_size"])
write_model(os.path.join(tmp, "as_llama"), dict(c, model_type="llama", attention_bias=True), W2)
check("qwen2 = llama(attention_bias, o_proj bias 0)",
      maxdiff(forward(d)["logits"], forward(os.path.join(tmp, "as_llama"))["logits"]) < 1e-12)
W3 = {k: (np.zeros_like(v) if k.endswith("_proj.bias") else v) for k, v in W.items()}
write_model(os.path.join(tmp, "q2zero"), c, W3)
check("qwen2: the q/k/v biases matter", maxdiff(forward(d)["logits"], forward(os.path.join(tmp, "q2zero"))["logits"]) > 1e-3)

# Llama with attention_bias: the o_proj bias is used
d = dirs["llama gqa4 linear bias"]
c, W = load_cfg(d), ref.read_safetensors(os.path.join(d, "model.safetensors"))
W2 = {k: (np.zeros_like(v) if k.endswith("o_proj.bias") else v) for k, v in W.items()}
write_model(os.path.join(tmp, "obias0"), c, W2)
check("llama attention_bias: o_proj has a bias and it matters",
      maxdiff(forward(d)["logits"], forward(os.path.join(tmp, "obias0"))["logits"]) > 1e-3)

# Qwen3: per-head q/k RMSNorm -> scaling one head's q_proj rows (and bias) leaves the output unchanged
d = dirs["qwen3 gqa2 hd16 tied"]
c, W = load_cfg(d), ref.read_safetensors(os.path.join(d, "model.safetensors"))
hd = c["head_dim"]
W2 = dict(W)
w = W["model.layers.0.self_attn.q_proj.weight"].copy(); w[hd:2 * hd] *= 7.0
W2["model.layers.0.self_attn.q_proj.weight"] = w
write_model(os.path.join(tmp, "q3scaled"), c, W2)
d2 = maxdiff(forward(d)["logits"], forward(os.path.join(tmp, "q3scaled"))["logits"])
check("qwen3: q is RMS-normalised per head (scaling head 1's q rows by 7 changes nothing but eps)", d2 < 1e-5, f"{d2}")
W3 = {k: v for k, v in W.items() if "_norm.weight" not in k or "layernorm" in k}
write_model(os.path.join(tmp, "as_llama3"), dict(c, model_type="llama"), W3)
check("qwen3: q_norm/k_norm matter (llama with the same weights differs)",
      maxdiff(forward(d)["logits"], forward(os.path.join(tmp, "as_llama3"))["logits"]) > 1e-3)

# llama3 RoPE scaling: the fixture's frequencies cover all three bands
m = ref.Family(dirs["llama gqa2 tied llama3"])
base = 1.0 / 10000.0 ** (np.arange(0, m.rd, 2) / m.rd)
inv = m.inv_freq.numpy()
kept, scaled = np.isclose(inv, base, rtol=1e-14), np.isclose(inv, base / 8, rtol=1e-14)
check("llama3 scaling: some frequencies kept, some divided by 8, some blended in between",
      kept.any() and scaled.any() and (~kept & ~scaled).any() and bool(((inv <= base) & (inv >= base / 8)).all()))
m = ref.Family(dirs["llama gqa4 linear bias"])
check("linear scaling: inverse frequencies / factor",
      close(m.inv_freq.numpy(), 1.0 / 10000.0 ** (np.arange(0, m.rd, 2) / m.rd) / 4.0, 1e-15))
# no rope_scaling key, null and {"rope_type": "default"} are the same
d = dirs["llama mha untied"]
c, W = load_cfg(d), ref.read_safetensors(os.path.join(d, "model.safetensors"))
base_lg = forward(d)["logits"]
ok = True
for variant in ({k: v for k, v in c.items() if k != "rope_scaling"}, dict(c, rope_scaling={"rope_type": "default"}),
                dict(c, rope_scaling={"type": "linear", "factor": 1.0})):
    write_model(os.path.join(tmp, "rs"), variant, W)
    ok &= close(forward(os.path.join(tmp, "rs"))["logits"], base_lg, 1e-12)
check("rope_scaling absent = default = linear factor 1 (old 'type' key read)", ok)

# GPT-NeoX: per-head fused qkv layout; parallel vs sequential residual
d = dirs["neox parallel pct.25"]
c, W = load_cfg(d), ref.read_safetensors(os.path.join(d, "model.safetensors"))
H, D = c["num_attention_heads"], c["hidden_size"]
hd = D // H
W2 = dict(W)  # re-lay the fused matrix as [q all heads | k | v]: must change the output
for i in range(c["num_hidden_layers"]):
    for s in ("weight", "bias"):
        k = f"gpt_neox.layers.{i}.attention.query_key_value.{s}"
        a = W[k].reshape((H, 3, hd) + W[k].shape[1:])
        W2[k] = np.swapaxes(a, 0, 1).reshape(W[k].shape)
write_model(os.path.join(tmp, "neox_qkv"), c, W2)
check("gpt_neox: the fused qkv layout matters (per head vs [q|k|v] differ)",
      maxdiff(forward(d)["logits"], forward(os.path.join(tmp, "neox_qkv"))["logits"]) > 1e-3)
fp = forward(d)
write_model(os.path.join(tmp, "neox_seq"), dict(c, use_parallel_residual=False), W)
fs = forward(os.path.join(tmp, "neox_seq"))
check("gpt_neox: parallel and sequential residuals differ; block 0's attention is the same",
      maxdiff(fp["logits"], fs["logits"]) > 1e-3 and close(fp["hooks"]["blocks.0.hook_attn_out"], fs["hooks"]["blocks.0.hook_attn_out"], 0))
m = ref.Family(d)
with torch.no_grad():
    pre0 = torch.from_numpy(fp["hooks"]["blocks.0.hook_resid_pre"])
    mid0 = torch.from_numpy(fp["hooks"]["blocks.0.hook_resid_mid"])
    from_pre = m.mlp(m.norm(pre0, "gpt_neox.layers.0.post_attention_layernorm"), 0, {}).numpy()
    from_mid = m.mlp(m.norm(mid0, "gpt_neox.layers.0.post_attention_layernorm"), 0, {}).numpy()
check("gpt_neox parallel: the MLP reads resid_pre (not resid_mid = resid_pre + attn_out)",
      close(fp["hooks"]["blocks.0.hook_mlp_out"], from_pre, 1e-12) and not close(fp["hooks"]["blocks.0.hook_mlp_out"], from_mid, 1e-3))
W3 = {k: v for k, v in W.items()}
write_model(os.path.join(tmp, "neox_pf"), dict({k: v for k, v in c.items() if k not in ("rotary_pct", "rotary_emb_base")},
                                             partial_rotary_factor=c["rotary_pct"], rope_theta=c["rotary_emb_base"]), W3)
check("gpt_neox: partial_rotary_factor/rope_theta read like rotary_pct/rotary_emb_base",
      close(forward(os.path.join(tmp, "neox_pf"))["logits"], fp["logits"], 0))
check("gpt_neox: rotary_ndims = int(head_size * rotary_pct)", m.rd == int(hd * 0.25) == 4)

# errors that say what is wrong
d = dirs["llama mha untied"]
c, W = load_cfg(d), ref.read_safetensors(os.path.join(d, "model.safetensors"))
bad = os.path.join(tmp, "bad")
def bad_model(cfg, weights=W):
    write_model(bad, cfg, weights)
    return lambda: ref.Family(bad)
check("error: rope_scaling yarn", fails_with(["rope_scaling", "yarn", "not supported"], bad_model(dict(c, rope_scaling={"rope_type": "yarn", "factor": 4.0}))))
check("error: rope_scaling dynamic (old 'type' key)", fails_with(["dynamic", "not supported"], bad_model(dict(c, rope_scaling={"type": "dynamic", "factor": 2.0}))))
check("error: llama3 without its parameters", fails_with(["llama3", "low_freq_factor"], bad_model(dict(c, rope_scaling={"rope_type": "llama3", "factor": 8.0}))))
check("error: hidden_act relu", fails_with(["hidden_act", "relu"], bad_model(dict(c, hidden_act="relu"))))
check("error: heads not a multiple of kv heads", fails_with(["multiple of num_key_value_heads"], bad_model(dict(c, num_key_value_heads=3))))
check("error: model_type bert", fails_with(["model_type", "bert"], bad_model(dict(c, model_type="bert"))))
check("error: missing lm_head when untied", fails_with(["lm_head.weight missing"], bad_model(c, {k: v for k, v in W.items() if k != "lm_head.weight"})))
nc = load_cfg(dirs["neox sequential pct.5 h32"])
nW = ref.read_safetensors(os.path.join(dirs["neox sequential pct.5 h32"], "model.safetensors"))
check("error: odd rotary dims (head 16 * 0.375 = 6 ok, 0.3125 = 5 not)",
      not fails_with([], bad_model(dict(nc, rotary_pct=0.375), nW)) and fails_with(["even"], bad_model(dict(nc, rotary_pct=0.3125), nW)))
check("error: sequence longer than max_position_embeddings",
      fails_with(["max_position_embeddings"], lambda: ref.Family(d).forward(list(range(65)))))

# ------------------------------------------------ the command-line runs (vocab 50257)
with open(os.path.join(tmp, "cli_forward.json")) as f:
    fw = json.load(f)
with open(os.path.join(tmp, "cli_lens.json")) as f:
    ln = json.load(f)
lg = np.array(fw["logits"])
nf = np_forward(os.path.join(tmp, "cli"), ids)
check("CLI forward: [T][50257] logits, L+1 hidden states, = numpy forward",
      lg.shape == (T, 50257) and len(fw["hidden_states"]) == 3 and maxdiff(lg, nf["logits"]) < 1e-9
      and fw["ids"] == ids and "blocks.1.attn.hook_z" in fw["hooks"] and "ln_final.hook_normalized" in fw["hooks"])
ok = ln["states"] == ["embeddings", "blocks.0", "blocks.1"] and ln["next_ids"] == ids[1:] + [None]
for t in range(T):
    cl = ln["cells"][-1][t]
    ok &= cl["kl_to_final"] == 0.0 and cl["rank_of_final"] == 0 and close(cl["topk_logits"], np.sort(lg[t])[::-1][:3], 0)
    p = np.exp(lg[t] - lg[t].max()); p /= p.sum()
    ok &= abs(cl["target_prob"] - p[13]) < 1e-12
check("CLI lens: last state = forward logits, target prob", ok)
cfg = load_cfg(os.path.join(tmp, "cli"))
check("CLI mkfixture: vocab 50257, bos/eos 50256, qwen3 head_dim 16",
      cfg["vocab_size"] == 50257 and cfg["bos_token_id"] == cfg["eos_token_id"] == 50256 and cfg["head_dim"] == 16)

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
EOF
