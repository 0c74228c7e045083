#!/usr/bin/env bash
# Self-test of reference/gpt2_ref.py on a random tiny GPT-2 (2 layers, 2 heads, n_embd 16,
# n_positions 32, vocab 50257). Checks internal consistency only; no real weights needed.
# Prints "N passed, N failed" and exits non-zero on any failure.
set -euo pipefail
PY=/usr/bin/python3
HERE="$(cd "$(dirname "$0")" && pwd)"
REF="$HERE/gpt2_ref.py"
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
IDS=8491,11875,922,30

# One command-line run of each mode; the checks below run further variants in-process.
"$PY" "$REF" mkfixture --out "$TMP/fx" --seed 1
"$PY" "$REF" forward  --model "$TMP/fx" --ids $IDS --out "$TMP/forward.json"
"$PY" "$REF" generate --model "$TMP/fx" --ids $IDS --max-length 14 --min-length 14 --out "$TMP/generate.json"
"$PY" "$REF" lens     --model "$TMP/fx" --ids $IDS --final-norm true --topk 5 --target 13 --out "$TMP/lens.json"

exec "$PY" - "$REF" "$TMP" "$IDS" <<'EOF'
import importlib.util, json, os, sys
import numpy as np

ref_path, tmp, ids = sys.argv[1], sys.argv[2], [int(s) for s in sys.argv[3].split(",")]
spec = importlib.util.spec_from_file_location("gpt2_ref", ref_path)
ref = importlib.util.module_from_spec(spec); spec.loader.exec_module(ref)
fx = os.path.join(tmp, "fx")
P, L = len(ids), 2
passed = failed = 0

def check(name, ok, detail=""):
    global passed, failed
    if ok:
        passed += 1; print(f"ok   {name}")
    else:
        failed += 1; print(f"FAIL {name} {detail}")

def load(name):
    with open(os.path.join(tmp, name)) as f:
        return json.load(f)

def run(name, *argv):  # in-process run of the CLI (saves the torch import time)
    ref.main(list(argv) + ["--out", os.path.join(tmp, name)])
    return load(name)

def close(a, b, tol=1e-10):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=0, atol=tol))

W = {k[len("transformer."):] if k.startswith("transformer.") else k: v
     for k, v in ref.read_safetensors(os.path.join(fx, "model.safetensors")).items()}
wte = W["wte.weight"]
M = ["--model", fx, "--ids", ",".join(map(str, ids))]

# ---- forward
fw = load("forward.json")
lg, hs, hk = np.array(fw["logits"]), [np.array(h) for h in fw["hidden_states"]], fw["hooks"]
check("forward shapes", lg.shape == (P, 50257) and len(hs) == L + 1 and all(h.shape == (P, 16) for h in hs))
check("logits = hidden_states[-1] @ wte.T", close(lg, hs[-1] @ wte.T, 1e-9))
check("hook_resid_pre0 = embed + pos_embed", close(hk["blocks.0.hook_resid_pre"], np.add(hk["hook_embed"], hk["hook_pos_embed"])))
check("embeddings = hidden_states[0]", close(hs[0], hk["blocks.0.hook_resid_pre"], 0))
ok = True
for i in range(L):
    pre, att, mid, mlp, post = (np.array(hk[f"blocks.{i}.hook_{n}"]) for n in ("resid_pre", "attn_out", "resid_mid", "mlp_out", "resid_post"))
    ok &= close(mid, pre + att) and close(post, mid + mlp)
    if i < L - 1:
        ok &= close(hs[i + 1], post, 0) and close(hk[f"blocks.{i+1}.hook_resid_pre"], post, 0)
    pat = np.array(hk[f"blocks.{i}.attn.hook_pattern"])
    ok &= close(pat.sum(-1), np.ones((2, P))) and close(np.triu(pat, 1), np.zeros_like(pat), 0)
check("hook chain resid_pre+attn=mid, mid+mlp=post, causal patterns", ok)
normed = np.array(hk["ln_final.hook_normalized"])
check("ln_f(last resid_post) = hidden_states[-1]", close(normed * W["ln_f.weight"] + W["ln_f.bias"], hs[-1]))

# ---- activation patching
z1 = run("z1.json", "forward", *M, "--zero-attn-out", "1")
check("zero attn 1: hidden_states[0..1] unchanged", all(close(z1["hidden_states"][s], hs[s], 0) for s in (0, 1)))
check("zero attn 1: hidden_states[2] and logits change", not close(z1["hidden_states"][2], hs[2], 1e-6) and not close(z1["logits"], lg, 1e-6))
check("zero attn 1: hook_attn_out is zero", close(z1["hooks"]["blocks.1.hook_attn_out"], np.zeros((P, 16)), 0))
za = run("za.json", "forward", *M, "--zero-attn-out", "0,1")
zb = run("zb.json", "forward", *M, "--zero-attn-out", "0", "--zero-attn-out", "1")
check("zero attn: comma list = repeated flag, layer 0 changes hidden_states[1]",
      za["logits"] == zb["logits"] and not close(za["hidden_states"][1], hs[1], 1e-6))

# ---- tensor names with the transformer. prefix, and BF16/F16 reading
ref.main(["mkfixture", "--out", os.path.join(tmp, "fxp"), "--seed", "1", "--prefix"])
fp = run("fp.json", "forward", "--model", os.path.join(tmp, "fxp"), "--ids", ",".join(map(str, ids)))
check("transformer.-prefixed names give the same forward", fp["logits"] == fw["logits"])
x = np.array([1.0, -2.5, 0.15625, 3.0e-3], dtype=np.float32)
bf = (x.view(np.uint32) >> 16).astype("<u2").tobytes(); f16 = x.astype("<f2").tobytes()
hdr = json.dumps({"a": {"dtype": "BF16", "shape": [2, 2], "data_offsets": [0, 8]},
                  "b": {"dtype": "F16", "shape": [4], "data_offsets": [8, 16]}, "__metadata__": {}}).encode()
with open(os.path.join(tmp, "d.safetensors"), "wb") as f:
    f.write(len(hdr).to_bytes(8, "little") + hdr + bf + f16)
d = ref.read_safetensors(os.path.join(tmp, "d.safetensors"))
expect_bf = ((x.view(np.uint32) >> 16) << 16).view(np.float32)
check("safetensors BF16/F16 decode", close(d["a"].ravel(), expect_bf, 0) and close(d["b"], x.astype(np.float16), 0))

# ---- generate
g = load("generate.json")
seq, shs, slg = g["sequences"], g["step_hidden_states"], g["step_logits"]
check("generate: 14 tokens, prompt kept, 10 steps", len(seq) == 14 and seq[:P] == ids and len(shs) == 10 and len(slg) == 10)
check("generate: step 0 hidden states = forward hidden_states", close(shs[0], fw["hidden_states"], 0))
check("generate: step shapes [L+1][1][D] after step 0", all(np.array(s).shape == (L + 1, 1, 16) for s in shs[1:]))
check("generate: tokens are argmax of step_logits (min_length=max_length masks EOS)",
      all(seq[P + j] == int(np.argmax(np.where(np.arange(50257) == 50256, -np.inf, slg[j]))) for j in range(10)))
full = run("full.json", "forward", "--model", fx, "--ids", ",".join(map(str, seq[:-1])))
ok = all(close(np.array(shs[j])[:, 0], np.array(full["hidden_states"])[:, P - 1 + j], 1e-9) and
         close(slg[j], full["logits"][P - 1 + j], 1e-9) for j in range(1, 10))
check("generate: per-step recompute = forward over the whole sequence (causality)", ok)
g0 = run("g0.json", "generate", *M, "--max-length", "12")
gen = g0["sequences"][P:]
k = next((j for j in range(1, len(gen)) if gen[j] not in gen[:j]), 0)  # EOS := a token first made at step k
eos = gen[k]
ge = run("ge.json", "generate", *M, "--max-length", "12", "--eos-token-id", str(eos))
check(f"generate: stops right after EOS (eos={eos}, step {k})",
      ge["sequences"] == g0["sequences"][:P + k + 1] and len(ge["step_logits"]) == k + 1)
gb = run("gb.json", "generate", *M, "--max-length", "12", "--eos-token-id", str(eos), "--min-length", str(P + k))
gc = run("gc.json", "generate", *M, "--max-length", "12", "--eos-token-id", str(eos), "--min-length", str(P + k + 1))
check("generate: EOS allowed once length >= min_length, masked below",
      gb["sequences"] == ge["sequences"] and gc["sequences"][P + k] != eos)
gm = run("gm.json", "generate", *M, "--max-length", "12", "--eos-token-id", str(eos), "--min-length", str(P + k + 2))
s = gm["sequences"]
check("generate: min_length masks EOS before it", eos not in s[P:P + k + 2] and s[:P + k] == g0["sequences"][:P + k]
      and (s[-1] == eos or len(s) == 12))

# ---- lens
ln = load("lens.json")
names = ["embeddings", "blocks.0", "blocks.1"]
check("lens: state names and grid", ln["states"] == names and len(ln["cells"]) == 3 and all(len(r) == P for r in ln["cells"]))
last, ok = ln["cells"][-1], True
for t in range(P):
    c, row = last[t], lg[t]
    ok &= c["kl_to_final"] == 0.0 and c["rank_of_final"] == 0 and c["final_top1"] == int(np.argmax(row))
    ok &= c["topk_ids"] == [int(i) for i in np.argsort(-row, kind="stable")[:5]] and close(c["topk_logits"], row[c["topk_ids"]], 0)
check("lens: final state = model logits, kl_to_final 0, rank_of_final 0", ok)
ok = True
for s, h in enumerate(hs[:-1]):
    mu = h.mean(-1, keepdims=True); var = ((h - mu) ** 2).mean(-1, keepdims=True)
    lgs = ((h - mu) / np.sqrt(var + 1e-5) * W["ln_f.weight"] + W["ln_f.bias"]) @ wte.T
    for t in range(P):
        c = ln["cells"][s][t]
        lp = lgs[t] - lgs[t].max(); lp -= np.log(np.exp(lp).sum())
        lf = lg[t] - lg[t].max(); lf -= np.log(np.exp(lf).sum())
        ok &= close(c["topk_logits"], np.sort(lgs[t])[::-1][:5], 1e-9) and abs(c["entropy"] + (np.exp(lp) * lp).sum()) < 1e-9
        ok &= abs(c["kl_to_final"] - (np.exp(lf) * (lf - lp)).sum()) < 1e-9 and c["kl_to_final"] > 0
        if t + 1 < P:
            ok &= abs(c["cross_entropy"] + lp[ids[t + 1]]) < 1e-9 and c["next_rank"] == int((lgs[t] > lgs[t][ids[t + 1]]).sum())
        else:
            ok &= c["next_prob"] is None and c["cross_entropy"] is None
        ok &= abs(c["target_prob"] - np.exp(lp[13])) < 1e-12
check("lens: intermediate states = ln_f(h) @ wte.T; entropy, KL, CE, ranks recomputed", ok)
lf = run("lensf.json", "lens", *M, "--final-norm", "false", "--topk", "5", "--target", "13")
check("lens final-norm=false: last state identical to final-norm=true",
      lf["cells"][-1] == ln["cells"][-1])
check("lens final-norm=false: embeddings state = embeddings @ wte.T",
      all(close(lf["cells"][0][t]["topk_logits"], np.sort(hs[0][t] @ wte.T)[::-1][:5], 1e-9) for t in range(P)))
la = run("lensa.json", "lens", *M, "--states", "all")
check("lens --states all: resid_mid interleaved, resid_post cells unchanged",
      la["states"] == ["embeddings", "blocks.0.resid_mid", "blocks.0", "blocks.1.resid_mid", "blocks.1"]
      and all(la["cells"][2 * s] == [dict(c, target_prob=None, target_rank=None) for c in ln["cells"][s]] for s in range(3)))
lgn = run("lensg.json", "lens", *M, "--generate", "5")
gen5 = lgn["sequences"][P:]
lfull = run("lensfull.json", "lens", "--model", fx, "--ids", ",".join(map(str, lgn["sequences"])))
ok = len(gen5) == 5 and lgn["next_ids"] == gen5 and lgn["positions"] == list(range(P - 1, P + 4))
ok &= gen5 == g["sequences"][P:P + 5] or 50256 in g["sequences"][P:P + 5]
for s in range(3):
    for j in range(5):
        a, b = lgn["cells"][s][j], lfull["cells"][s][P - 1 + j]
        ok &= a["topk_ids"] == b["topk_ids"] and close(a["topk_probs"], b["topk_probs"], 1e-12) and a["next_id"] == b["next_id"]
        ok &= abs(a["kl_to_final"] - b["kl_to_final"]) < 1e-9 and a["rank_of_final"] == b["rank_of_final"]
ok &= all(c["kl_to_final"] == 0.0 and c["top1_is_next"] for c in lgn["cells"][-1])
check("lens --generate: columns = lens of the full sequence at the generated positions", ok)

print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
EOF
