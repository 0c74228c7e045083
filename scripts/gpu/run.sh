#!/usr/bin/env bash
# Runs the logit lens on an NVIDIA GPU through GoMLX's XLA backend and the CUDA
# PJRT plugin that ships with jax (jax_plugins/xla_cuda*/xla_cuda_plugin.so), on
# a machine without Go: build the binary first, here,
#
#   source scripts/env.sh && go build -ldflags='-s -w' -o .gpu/gpubench ./scripts/gpu/gpubench
#
# then run this script on the GPU machine from the repository root, with .gpu/
# carried along. It writes everything under $OUT (default /tmp/gpubench-out):
#   nvidia-smi.txt, plugin.txt      the card and the plugin found
#   compare-*.txt                   CUDA vs the pure-Go backend on the tiny fixture (≤ 1e-3, same top-1)
#   times.jsonl                     one JSON line per timed item (see gpubench time)
#   log.txt                         every step's output
# Model folders (tiny, GPT-2-small and GPT-2-XL shapes, random weights) are written
# on the machine by the binary itself, under $WORK (default /tmp/gpubench-work).
#
# Environment: GPUBENCH (binary), PLUGIN (the .so, else searched), BUDGET (seconds
# for the whole script, default 400), SKIP_XL=1.
set -u
B=${GPUBENCH:-.gpu/gpubench}
OUT=${OUT:-/tmp/gpubench-out}
WORK=${WORK:-/tmp/gpubench-work}
BUDGET=${BUDGET:-400}
mkdir -p "$OUT" "$WORK"
LOG="$OUT/log.txt"
log() { echo "[+${SECONDS}s] $*" | tee -a "$LOG"; }
left() { echo $((BUDGET - SECONDS)); }
# step NAME TIMEOUT CMD...: runs CMD with a timeout, its output into the log.
step() {
  local name=$1 t=$2
  shift 2
  local l
  l=$(left)
  if [ "$l" -lt 15 ]; then log "SKIP $name: budget spent"; return 99; fi
  [ "$t" -gt "$l" ] && t=$l
  log "RUN  $name (timeout ${t}s): $*"
  timeout -k 5 "$t" "$@" >>"$LOG" 2>&1
  local rc=$?
  log "DONE $name rc=$rc"
  return $rc
}

chmod +x "$B" 2>/dev/null
log "host $(hostname) nproc $(nproc) $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2) mem $(free -g | awk '/Mem/{print $2}') GiB; $(ldd --version 2>&1 | head -1)"
nvidia-smi >"$OUT/nvidia-smi.txt" 2>&1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv >>"$OUT/nvidia-smi.txt" 2>&1
log "gpu: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>&1 | head -1)"
"$B" fixture -h >/dev/null 2>&1
if ! "$B" fixture -spec tiny -out "$WORK/tiny" >>"$LOG" 2>&1; then
  log "FATAL: the binary does not run here"; ldd "$B" >>"$LOG" 2>&1; exit 1
fi

# The XL folder (6.2 GB of float32) takes a while to write: start it now.
if [ "${SKIP_XL:-0}" != 1 ]; then
  ("$B" fixture -spec xl -out "$WORK/xl" >"$OUT/fixture-xl.txt" 2>&1) &
  XLPID=$!
fi
"$B" fixture -spec small -out "$WORK/small" >>"$LOG" 2>&1 &
SMALLPID=$!

# ---- find the CUDA PJRT plugin that jax ships
PY=$(command -v python3 || true)
if [ -z "${PLUGIN:-}" ] && [ -n "$PY" ]; then
  "$PY" - >"$OUT/plugin.txt" 2>&1 <<'EOF'
import glob, os, sys, importlib
print("python", sys.version.split()[0], sys.executable)
try:
    import jax
    print("jax", jax.__version__)
except Exception as e:
    print("jax import failed:", e)
try:
    import jaxlib
    print("jaxlib", jaxlib.__version__)
except Exception as e:
    print("jaxlib import failed:", e)
found = []
for name in ("jax_plugins.xla_cuda12", "jax_plugins.xla_cuda13", "jax_plugins.xla_cuda"):
    try:
        m = importlib.import_module(name)
        d = os.path.dirname(m.__file__)
        print("module", name, d, "version", getattr(m, "__version__", "?"))
        found += glob.glob(os.path.join(d, "*.so"))
    except Exception as e:
        print("module", name, "not importable:", e)
for sp in sys.path:
    found += glob.glob(os.path.join(sp, "jax_plugins", "*", "xla_cuda_plugin.so"))
seen = []
for f in found:
    if f not in seen and "cuda" in os.path.basename(f):
        seen.append(f)
for f in seen:
    print("PLUGIN", os.path.realpath(f))
EOF
  PLUGIN=$(awk '/^PLUGIN /{print $2; exit}' "$OUT/plugin.txt")
fi
if [ -z "${PLUGIN:-}" ]; then
  PLUGIN=$(timeout 60 find /usr /opt /root /home /venv /workspace /app -name 'xla_cuda_plugin.so' -o -name 'pjrt_c_api_cuda_plugin.so' 2>/dev/null | head -1)
  echo "PLUGIN (find) $PLUGIN" >>"$OUT/plugin.txt"
fi
cat "$OUT/plugin.txt" >>"$LOG" 2>/dev/null
if [ -z "$PLUGIN" ]; then
  log "FATAL: no CUDA PJRT plugin found (no jax_plugins.xla_cuda* module, no xla_cuda_plugin.so on disk)"
  exit 2
fi
log "plugin: $PLUGIN"
# The plugin finds the NVIDIA libraries through its RPATH ($ORIGIN/../../nvidia/...,
# i.e. site-packages/nvidia); XLA also needs ptxas/libdevice from nvidia/cuda_nvcc.
SP=$(dirname "$(dirname "$(dirname "$PLUGIN")")")
NV="$SP/nvidia"
if [ -d "$NV" ]; then
  for d in "$NV"/*/lib; do LD_LIBRARY_PATH="$d:${LD_LIBRARY_PATH:-}"; done
  export LD_LIBRARY_PATH
  [ -d "$NV/cuda_nvcc" ] && export XLA_FLAGS="--xla_gpu_cuda_data_dir=$NV/cuda_nvcc ${XLA_FLAGS:-}"
  [ -d "$NV/cuda_nvcc/bin" ] && export PATH="$NV/cuda_nvcc/bin:$PATH"
  log "nvidia libs: $(ls "$NV" | tr '\n' ' ')"
else
  log "no $NV folder next to the plugin"
fi
readelf -d "$PLUGIN" 2>/dev/null | grep -iE 'rpath|runpath' >>"$LOG"
export GOPJRT_CUDA_CHECKS=0 TF_CPP_MIN_LOG_LEVEL=1

CUDA="xla:$PLUGIN"
# ---- correctness: CUDA vs the pure-Go backend on the tiny fixture
GOMLX_BACKEND=go step tiny-cpu 60 "$B" lens -model "$WORK/tiny" -tokens 40 -out "$OUT/tiny-cpu.json"
GOMLX_BACKEND=go step tiny-cpu-gen 60 "$B" lens -model "$WORK/tiny" -generate 10 -out "$OUT/tiny-cpu-gen.json"
if ! GOMLX_BACKEND="$CUDA,tf32=false" step tiny-cuda 120 "$B" lens -model "$WORK/tiny" -tokens 40 -out "$OUT/tiny-cuda.json"; then
  # Fallback: the plugin under go-xla's file name, found by PJRT_PLUGIN_LIBRARY_PATH as "cuda".
  mkdir -p "$WORK/plugins" && ln -sf "$PLUGIN" "$WORK/plugins/pjrt_c_api_cuda_plugin.so"
  export PJRT_PLUGIN_LIBRARY_PATH="$WORK/plugins"
  CUDA="xla:cuda"
  GOMLX_BACKEND="$CUDA,tf32=false" step tiny-cuda-byname 120 "$B" lens -model "$WORK/tiny" -tokens 40 -out "$OUT/tiny-cuda.json" || {
    log "FATAL: the CUDA plugin could not be used (see log.txt)"; exit 3; }
fi
echo "CUDA backend config: $CUDA" >>"$OUT/plugin.txt"
"$B" compare "$OUT/tiny-cpu.json" "$OUT/tiny-cuda.json" >"$OUT/compare-tf32off.txt" 2>&1
GOMLX_BACKEND="$CUDA" step tiny-cuda-tf32 90 "$B" lens -model "$WORK/tiny" -tokens 40 -out "$OUT/tiny-cuda-tf32.json" &&
  "$B" compare "$OUT/tiny-cpu.json" "$OUT/tiny-cuda-tf32.json" >"$OUT/compare-tf32on.txt" 2>&1
GOMLX_BACKEND="$CUDA,tf32=false" step tiny-cuda-gen 90 "$B" lens -model "$WORK/tiny" -generate 10 -out "$OUT/tiny-cuda-gen.json" &&
  "$B" compare "$OUT/tiny-cpu-gen.json" "$OUT/tiny-cuda-gen.json" >"$OUT/compare-gen.txt" 2>&1
cat "$OUT"/compare-*.txt >>"$LOG" 2>/dev/null

# ---- timings: GPT-2-small shapes, then GPT-2-XL shapes
wait "$SMALLPID"
GOMLX_BACKEND="$CUDA" step small 150 "$B" time -model "$WORK/small" -reps 5 -budget 110 -json "$OUT/times.jsonl" \
  -items matmul208,lens64,lens1024,lens1024@4096,forward64,forward1024,course
if [ "${SKIP_XL:-0}" != 1 ]; then
  log "waiting for the XL folder"
  while kill -0 "$XLPID" 2>/dev/null && [ "$(left)" -gt 60 ]; do sleep 2; done
  cat "$OUT/fixture-xl.txt" >>"$LOG"
  if [ -f "$WORK/xl/.complete" ]; then
    GOMLX_BACKEND="$CUDA" step xl $(($(left) - 5)) "$B" time -model "$WORK/xl" -reps 3 -budget $(($(left) - 60)) -json "$OUT/times.jsonl" \
      -items matmul208,lens64,lens1024,lens1024@4096,forward1024
  else
    log "SKIP xl: folder not written in time"
  fi
fi
log "end"
