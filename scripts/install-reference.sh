#!/usr/bin/env bash
# Installs the Python/PyTorch stack used by reference/gpt2_ref.py (Debian packages).
# Idempotent: does nothing when Debian's python3 can already import torch.
set -euo pipefail

PY=/usr/bin/python3
PKGS=(python3-torch libopenblas0-pthread python3-numpy)

if [ -x "$PY" ] && "$PY" -c 'import torch, numpy' >/dev/null 2>&1; then
  echo "install-reference: torch already importable by $PY ($("$PY" -c 'import torch; print(torch.__version__)')); nothing to do"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

echo "install-reference: running apt-get update"
$SUDO apt-get update
echo "install-reference: installing ${PKGS[*]}"
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${PKGS[@]}"

"$PY" -c 'import torch, numpy; print("install-reference: ok, torch", torch.__version__, "numpy", numpy.__version__)'
