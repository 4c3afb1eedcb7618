#!/usr/bin/env bash
# Installs OpenCLIP (PyTorch, CPU) into a venv, to run Benchmarks/openclip/step.py beside our benchmark.
# Usage: Benchmarks/openclip/setup.sh        (venv: ${OPENCLIP_VENV:-/opt/openclip-venv}; a fast no-op when done)
#        Benchmarks/openclip/setup.sh --coca (also ${OPENCLIP_COCA_VENV:-/opt/openclip-coca-venv}, for coca.py generate)
#
# --coca: OpenCLIP 3.3.0's CoCa.generate() imports transformers' BeamSearchScorer, which transformers 5 removed, so it
# needs transformers==4.56.2. It goes into a second venv that sees the first one's packages through a .pth file:
# open_clip imports transformers at import time whenever it is installed, which would add its memory to every
# OpenCLIP RSS figure of the training benchmarks run with the first venv. Pinned, --no-deps, with transformers' runtime
# deps (tokenizers, huggingface-hub, safetensors, packaging, PyYAML, requests and its urllib3, idna, certifi,
# charset-normalizer); numpy, regex, tqdm, filelock and fsspec come from the first venv.
#
# Everything is pinned and installed with --no-deps, so pip can never swap the CPU torch from /opt/wheels
# for PyPI's CUDA torch:
#   torch 2.13.0+cpu   from ${OPENCLIP_WHEELS:-/opt/wheels}, plus its own runtime deps (filelock ... sympy)
#   open_clip_torch    3.3.0 (as the peer). Its declared timm, huggingface-hub and safetensors are left out:
#                      open_clip imports them only to load pretrained / timm / HF models, not for CLIP(**cfg).
#   torchvision 0.28.0 (the release for torch 2.13; open_clip imports its transforms). PyPI has only its CUDA
#                      build: the C++ ops can't load with CPU torch, which step.py works around at import.
#   numpy, pillow (torchvision), regex, ftfy + wcwidth, tqdm (open_clip).
set -euo pipefail

VENV=${OPENCLIP_VENV:-/opt/openclip-venv}
WHEELS=${OPENCLIP_WHEELS:-/opt/wheels}
PYTHON=${OPENCLIP_PYTHON:-python3}
HERE=$(cd "$(dirname "$0")" && pwd)

TORCH_VERSION=2.13.0+cpu
PINS=(
  open_clip_torch==3.3.0
  torchvision==0.28.0
  # torch's requirements
  filelock==4.3.1 typing_extensions==4.16.0 setuptools==84.2.1 sympy==1.14.0 mpmath==1.3.0
  networkx==3.6.1 Jinja2==3.1.6 MarkupSafe==3.0.4 fsspec==2026.9.0
  # torchvision's and open_clip's
  numpy==2.4.6 pillow==13.0.0 regex==2026.11.19 ftfy==6.3.1 wcwidth==0.9.4 tqdm==4.70.1
)

fail() { echo "openclip setup: FAILED: $*" >&2; exit 1; }

# Fast path: every pinned distribution present at its version (metadata only, no torch import).
installed_ok() {
  [ -x "$VENV/bin/python" ] || return 1
  "$VENV/bin/python" - "torch==$TORCH_VERSION" "${PINS[@]}" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version, PackageNotFoundError
for pin in sys.argv[1:]:
    name, want = pin.split("==")
    try:
        if version(name) != want:
            sys.exit(1)
    except PackageNotFoundError:
        sys.exit(1)
PY
}

COCA_VENV=${OPENCLIP_COCA_VENV:-/opt/openclip-coca-venv}
COCA_PINS=(
  transformers==4.56.2 tokenizers==0.22.1 huggingface-hub==0.35.3 safetensors==0.6.2 packaging==25.0 PyYAML==6.0.3
  requests==2.32.5 urllib3==2.5.0 idna==3.10 certifi==2025.8.3 charset-normalizer==3.4.3
)
coca_venv() {
  [ "${1:-}" = "--coca" ] || return 0
  if [ ! -x "$COCA_VENV/bin/python" ]; then
    "$PYTHON" -m venv "$COCA_VENV" || fail "cannot create venv $COCA_VENV"
  fi
  local site
  site=$("$COCA_VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  "$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' > "$site/openclip-venv.pth"
  if ! "$COCA_VENV/bin/python" - "${COCA_PINS[@]}" <<'PY' 2>/dev/null; then
import sys
from importlib.metadata import version
sys.exit(any(version(p.split("==")[0]) != p.split("==")[1] for p in sys.argv[1:]))
PY
    "$COCA_VENV/bin/python" -m pip install --disable-pip-version-check --no-input --no-deps -q "${COCA_PINS[@]}" \
      || fail "pip install of transformers into $COCA_VENV failed"
  fi
  "$COCA_VENV/bin/python" -c 'from transformers import BeamSearchScorer' 2>/dev/null \
    || fail "$COCA_VENV: transformers' BeamSearchScorer does not import"
  echo "openclip setup: $COCA_VENV has transformers 4.56.2 over $VENV"
}

if installed_ok; then
  echo "openclip setup: already installed in $VENV (torch $TORCH_VERSION, open_clip_torch 3.3.0)"
  coca_venv "${1:-}"
  exit 0
fi

start=$(date +%s)
command -v "$PYTHON" >/dev/null || fail "no $PYTHON"
PYTAG=$("$PYTHON" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
shopt -s nullglob
wheels=("$WHEELS"/torch-"$TORCH_VERSION"-"$PYTAG"-"$PYTAG"-*linux*_x86_64.whl)
shopt -u nullglob
[ ${#wheels[@]} -ge 1 ] || fail "no torch $TORCH_VERSION wheel for $PYTAG in $WHEELS"
TORCH_WHEEL=${wheels[0]}

if [ ! -x "$VENV/bin/python" ]; then
  "$PYTHON" -m venv "$VENV" || fail "cannot create venv $VENV"
fi

LOG=$(mktemp /tmp/openclip-setup.XXXXXX.log)
if ! "$VENV/bin/python" -m pip install --disable-pip-version-check --no-input --no-deps \
      "$TORCH_WHEEL" "${PINS[@]}" >"$LOG" 2>&1; then
  tail -n 15 "$LOG" >&2
  fail "pip install into $VENV failed (full log: $LOG)"
fi
rm -f "$LOG"
installed_ok || fail "installed versions in $VENV do not match the pins"

# Import open_clip and build clip-bench (22,332,417 parameters); checks that torch is the CPU build.
check=$("$VENV/bin/python" "$HERE/step.py" --check 2>&1) || { echo "$check" >&2; fail "open_clip does not import / build clip-bench"; }
echo "$check" | grep -q "cuda: None" || fail "torch in $VENV is not the CPU build: $check"
echo "openclip setup: installed in $VENV in $(( $(date +%s) - start )) s: $check"
coca_venv "${1:-}"
