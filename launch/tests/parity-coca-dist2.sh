#!/usr/bin/env bash
# OpenCLIP's 2-process CoCa run (dist2.safetensors): per-rank contrastive and caption losses, token counts and the
# averaged gradients of one training step under mpirun -np 2, plus every single-process quantity on rank 0.
set -euo pipefail
source "$(dirname "$0")/train-common.bash"
timeout 300 mpirun --allow-run-as-root --oversubscribe -np 2 "$SWIFTCLIP" parity --fixture Tests/Fixtures/coca-tiny --quiet
