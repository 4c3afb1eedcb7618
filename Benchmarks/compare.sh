#!/usr/bin/env bash
# Two builds of swiftclip side by side: training steps of clip-bench (batch 128 per rank, random data) at 1 rank and at
# 2 ranks, the builds interleaved (old, new, old, new, ...) so the machine's drift falls on both alike, with OpenCLIP's
# step between the series. It answers "did this change slow training?" with figures from one run.
# Usage: Benchmarks/run compare OLD_SWIFTCLIP_BINARY [--json]   (PAIRS=N interleaved pairs at 1 rank, default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
source launch/build-env
OLD=${1:?usage: Benchmarks/run compare OLD_SWIFTCLIP_BINARY [--json]}
[ -x "$OLD" ] || { echo "compare: $OLD is not an executable" >&2; exit 2; }
swift build "${SWIFT_BUILD_FLAGS[@]}" --product swiftclip 2>&1 | grep -E "error" >&2 || true
NEW=.build/release/swiftclip PAIRS=${PAIRS:-3}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
# Both builds on the kernels the new one picks for this CPU, so the comparison is of the code alone.
export OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-$("$NEW" version --blas-kernels)}
ARGS=(bench-step --model clip-bench --batch-size 128 --steps 3 --warmup 1 --json)
binding=none; [ "$(nproc)" -ge 2 ] && binding=core
step() { # step BINARY RANKS
  if [ "$2" -eq 1 ]; then "$1" "${ARGS[@]}" | grep '^{'
  else mpirun --oversubscribe --bind-to "$binding" -np "$2" -x OPENBLAS_NUM_THREADS -x OPENBLAS_CORETYPE "$1" "${ARGS[@]}" | grep '^{'; fi
}
field() { { grep -o "\"$2\": *[0-9.eE+-]*" <<<"$1" || true; } | head -1 | sed 's/.*: *//'; }
OPENCLIP_PY=${OPENCLIP_VENV:-/opt/openclip-venv}/bin/python
openclip() { [ "${OPENCLIP:-1}" != 0 ] && Benchmarks/openclip/setup.sh >&2 && \
  "$OPENCLIP_PY" Benchmarks/openclip/step.py --threads 1 --world-size "$1" --steps 3 --warmup 1 2>/dev/null | grep '^{' || echo '{}'; }
declare -A S R G
series() { # series RANKS PAIRS
  for ((i = 0; i < $2; i++)); do
    for side in old new; do
      local bin=$OLD; [ $side = new ] && bin=$NEW
      local r; r=$(step "$bin" "$1")
      S[$side$1]+="$(field "$r" samples_per_s) "; R[$side$1]=$(field "$r" peak_rss_mb); G[$side$1]+="$(field "$r" gflops_vs_sgemm) "
      printf '%s build, %d rank(s): %s samples/s, %s of sgemm, peak RSS %s MB\n' $side "$1" "$(field "$r" samples_per_s)" \
        "$(field "$r" gflops_vs_sgemm)" "$(field "$r" peak_rss_mb)" >&2
    done
  done
}
median() { tr ' ' '\n' <<<"$1" | grep . | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'; }
series 1 "$PAIRS"; oc1=$(openclip 1)
series 2 2; oc2=$(openclip 2)
o1=$(field "$oc1" samples_per_s); o2=$(field "$oc2" samples_per_s); om=$(field "$oc2" peak_rss_mb)
n1=$(median "${S[new1]}"); d1=$(median "${S[old1]}"); n2=$(median "${S[new2]}"); d2=$(median "${S[old2]}")
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "null"; else printf "%.3f", a / b }'; }
echo "new/old samples/s (median): 1 rank $(ratio "$n1" "$d1"), 2 ranks $(ratio "$n2" "$d2"); gflops_vs_sgemm 1 rank new $(median "${G[new1]}"), old $(median "${G[old1]}")"
echo "vs OpenCLIP (same run): 1 rank new $(ratio "$n1" "$o1"), old $(ratio "$d1" "$o1"); 2 ranks new $(ratio "$n2" "$o2"), old $(ratio "$d2" "$o2"); RSS 2 ranks new/OpenCLIP $(ratio "${R[new2]}" "$om")"
if [[ " $* " == *" --json "* ]]; then
  printf '{"blas_kernels": "%s", "new_vs_old_1r1t": %s, "new_vs_old_2r1t": %s, "gflops_vs_sgemm_1r1t_new": %s, "gflops_vs_sgemm_1r1t_old": %s, "vs_openclip_1r1t": %s, "vs_openclip_2r1t": %s, "old_vs_openclip_1r1t": %s, "old_vs_openclip_2r1t": %s, "rss_vs_openclip_2r1t": %s, "rss_mb_2r1t_new": %s, "rss_mb_2r1t_old": %s}\n' \
    "$OPENBLAS_CORETYPE" "$(ratio "$n1" "$d1")" "$(ratio "$n2" "$d2")" "$(median "${G[new1]}")" "$(median "${G[old1]}")" \
    "$(ratio "$n1" "$o1")" "$(ratio "$n2" "$o2")" "$(ratio "$d1" "$o1")" "$(ratio "$d2" "$o2")" "$(ratio "${R[new2]}" "$om")" \
    "${R[new2]}" "${R[old2]}"
fi
