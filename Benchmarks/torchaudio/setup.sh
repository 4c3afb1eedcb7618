#!/usr/bin/env bash
# Installs torchaudio (CPU) into a venv for the filter-bank fixture (Tools/generate_fbank_fixture.py) and the fbank
# benchmark's peer (Benchmarks/torchaudio/fbank.py).
# Usage: Benchmarks/torchaudio/setup.sh      (venv: ${TORCHAUDIO_VENV:-/opt/audio-venv}; a fast no-op when done)
#
# PyPI's newest torchaudio is 2.11.1 and its only Linux wheel is the CUDA build, whose C++ extension cannot load beside
# a CPU torch. The features we compare against (compliance.kaldi.fbank, functional.resample) are pure Python over torch
# operators, so: torch 2.13.0+cpu from ${TORCHAUDIO_WHEELS:-/opt/wheels}, torchaudio 2.11.1 with --no-deps, and its
# CUDA-only shared libraries moved out of the package (torchaudio then imports without its extension, which none of
# these functions use).
set -euo pipefail

VENV=${TORCHAUDIO_VENV:-/opt/audio-venv}
WHEELS=${TORCHAUDIO_WHEELS:-/opt/wheels}
PYTHON=${TORCHAUDIO_PYTHON:-python3}
TORCH_VERSION=2.13.0+cpu
PINS=(
  torchaudio==2.11.1
  filelock==4.3.1 typing_extensions==4.16.0 sympy==1.14.0 mpmath==1.3.0
  networkx==3.6.1 Jinja2==3.1.6 MarkupSafe==3.0.4 fsspec==2026.9.0 numpy==2.4.6
)

fail() { echo "torchaudio setup: FAILED: $*" >&2; exit 1; }
check() { "$VENV/bin/python" -c 'import torch, torchaudio.compliance.kaldi, torchaudio.functional; print(torch.__version__, torchaudio.__version__)' 2>/dev/null; }

if [ -x "$VENV/bin/python" ] && versions=$(check); then
  echo "torchaudio setup: already installed in $VENV ($versions)"
  exit 0
fi
PYTAG=$("$PYTHON" -c 'import sys; print(f"cp{sys.version_info[0]}{sys.version_info[1]}")')
shopt -s nullglob
wheels=("$WHEELS"/torch-"$TORCH_VERSION"-"$PYTAG"-"$PYTAG"-*linux*_x86_64.whl)
shopt -u nullglob
[ ${#wheels[@]} -ge 1 ] || fail "no torch $TORCH_VERSION wheel for $PYTAG in $WHEELS"
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV" || fail "cannot create venv $VENV"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-input --no-deps "${wheels[0]}" "${PINS[@]}" \
  || fail "pip install into $VENV failed"
lib=$("$VENV/bin/python" -c 'import importlib.util, os; print(os.path.join(os.path.dirname(importlib.util.find_spec("torchaudio").origin), "lib"))')
mkdir -p "$VENV/torchaudio-cuda-libs"
for so in "$lib"/*.so; do [ -e "$so" ] && mv "$so" "$VENV/torchaudio-cuda-libs/"; done
versions=$(check) || fail "torchaudio does not import in $VENV"
echo "torchaudio setup: installed in $VENV ($versions)"
