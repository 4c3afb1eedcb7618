#!/usr/bin/env bash
# Slow networks for real: clip-bench training on HOSTS network-namespace hosts (launch/netns-hosts.bash, 1 rank and
# 1 BLAS thread each, MPI over TCP through veth links shaped with tc tbf), for each link rate in RATES with fp32 and
# bf16 gradient communication, each with and without overlap (--overlap-comm false), plus the unshaped link, whose
# compute time calibrates the model. Cases are interleaved round by round (the machine drifts over minutes).
# Per case: samples/s and exposed communication (the trainer's comm_wait / step_time from results.jsonl, median of
# the timed steps). Then `swiftclip plan` with the same bandwidth, latency, bucket size, wire type and overlap
# predicts step time and exposed gradient communication, and the table shows prediction / measurement.
# Usage: Benchmarks/run netns [--json]
#   env: RATES ("1gbit 10gbit"), HOSTS (2), BATCH per rank (32), STEPS (7, the first WARMUP=2 untimed), ROUNDS (2),
#        LATENCY_US (the latency given to plan; tc here cannot add delay, see docs/scaling-model.md)
# Needs root (network namespaces, tc).
set -euo pipefail
cd "$(dirname "$0")/.."
source launch/build-env
swift build "${SWIFT_BUILD_FLAGS[@]}" --product swiftclip 2>&1 | grep -E "error" >&2 || true
BIN=$PWD/.build/release/swiftclip
json=0; [ "${1:-}" = --json ] && json=1
RATES=${RATES:-1gbit 10gbit} HOSTS=${HOSTS:-2} BATCH=${BATCH:-32} STEPS=${STEPS:-7} WARMUP=${WARMUP:-2} ROUNDS=${ROUNDS:-2}
LATENCY_US=${LATENCY_US:-100}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1

source launch/netns-hosts.bash
NETNS_DIR=$(mktemp -d /tmp/swiftclip-netns-bench.XXXXXX)
trap 'netns_destroy; rm -rf "$NETNS_DIR"' EXIT
netns_create "$HOSTS" || { echo "netns benchmark: $NETNS_ERROR" >&2; exit 1; }
netns_cluster_config "$NETNS_DIR/cluster.yaml" 1 "env:" "  - SWIFTCLIP_COLLECTIVE_TIMEOUT=600"

# run NAME FLAGS...: one clip-bench run; prints "median_step_seconds median_exposed_fraction median_compute_seconds".
run() {
  local name=$1; shift
  timeout 900 ip netns exec "${NETNS_NAMES[0]}" launch/train --cluster "$NETNS_DIR/cluster.yaml" \
    --recipe cluster-configs/clip-bench.yaml -- --batch-size "$BATCH" --max-steps "$STEPS" --logs "$NETNS_DIR/runs" \
    --name "$name" --log-every-n-steps 1 --val-frequency 1000 --save-frequency 1000 "$@" > "$NETNS_DIR/$name.log" 2>&1 ||
    { tail -20 "$NETNS_DIR/$name.log" >&2; echo "netns benchmark: run $name failed" >&2; exit 1; }
  awk -v warm="$WARMUP" '
    /"step_time"/ { s = $0; sub(/.*"step": */, "", s); sub(/[,}].*/, "", s); if (s + 0 <= warm) next
      t = $0; sub(/.*"step_time": */, "", t); sub(/[,}].*/, "", t)
      w = $0; sub(/.*"comm_wait": */, "", w); sub(/[,}].*/, "", w)
      n++; st[n] = t + 0; fr[n] = (w + 0) / (t + 0); cp[n] = t - w }
    function med(a, n,   i, j, x) { for (i = 2; i <= n; i++) { x = a[i]; for (j = i - 1; j > 0 && a[j] > x; j--) a[j + 1] = a[j]; a[j + 1] = x }
      return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
    END { if (n == 0) { print "none"; exit } printf "%.4f %.4f %.4f\n", med(st, n), med(fr, n), med(cp, n) }' \
    "$NETNS_DIR/runs/$name/results.jsonl"
}

cases=()
for rate in $RATES; do for dtype in fp32 bf16; do for overlap in true false; do cases+=("$rate:$dtype:$overlap"); done; done; done
declare -A step frac compute
for ((round = 1; round <= ROUNDS; round++)); do
  netns_set_rate none
  read -r s f c <<< "$(run "unshaped-$round" --grad-comm-dtype fp32)"
  step[unshaped]+=" $s" frac[unshaped]+=" $f" compute[unshaped]+=" $c"
  echo "round $round unshaped: $s s/step, exposed $f" >&2
  for rate in $RATES; do
    netns_set_rate "$rate"
    for case in "${cases[@]}"; do
      IFS=: read -r r dtype overlap <<< "$case"
      [ "$r" = "$rate" ] || continue
      read -r s f c <<< "$(run "$rate-$dtype-$overlap-$round" --grad-comm-dtype "$dtype" --overlap-comm "$overlap")"
      step[$case]+=" $s" frac[$case]+=" $f" compute[$case]+=" $c"
      echo "round $round $case: $s s/step, exposed $f" >&2
    done
  done
done
mean() { awk '{ for (i = 1; i <= NF; i++) s += $i } END { printf "%.4f", s / NF }' <<< "$1"; }

# The model's compute rate: samples/s of one rank's compute (step minus waiting) on the unshaped link.
calibration=$(awk -v b="$BATCH" -v c="$(mean "${compute[unshaped]}")" 'BEGIN { printf "%.3f", b / c }')
rate_gbs() { awk -v r="$1" 'BEGIN { n = r + 0; u = tolower(r); sub(/^[0-9.]+/, "", u)
  m = (u == "gbit") ? 1e9 : (u == "mbit") ? 1e6 : 1; printf "%.6f", n * m / 8 / 1e9 }'; }
plan() {  # plan RATE DTYPE OVERLAP: "step_seconds exposed_gradient_seconds"
  "$BIN" plan --model clip-bench --global-batch $((BATCH * HOSTS)) --nodes "$HOSTS" --ranks-per-node 1 \
    --bandwidth "$(rate_gbs "$1")" --latency "$LATENCY_US" --bucket-mib 8 --samples-per-second-per-rank "$calibration" \
    --grad-comm-dtype "$2" --overlap-comm "$3" --json | tail -1 |
    awk '{ s = $0; sub(/.*"step_seconds": */, "", s); sub(/[,}].*/, "", s)
           e = $0; sub(/.*"exposed_comm_seconds": */, "", e); sub(/[,}].*/, "", e); print s, e }'
}

printf '\nclip-bench, %d hosts x 1 rank, batch %d per rank, %d timed steps x %d rounds; plan: latency %s us, compute %s samples/s per rank (unshaped run)\n' \
  "$HOSTS" "$BATCH" $((STEPS - WARMUP)) "$ROUNDS" "$LATENCY_US" "$calibration"
printf '%-8s %-5s %-8s %10s %9s %9s | %9s %9s %8s %8s\n' link wire overlap samples/s step_s exposed plan_step plan_exp step_err exp_err
un_step=$(mean "${step[unshaped]}")
printf '%-8s %-5s %-8s %10.1f %9.3f %8.1f%% |\n' unshaped fp32 true "$(awk -v s="$un_step" -v g=$((BATCH * HOSTS)) 'BEGIN { print g / s }')" \
  "$un_step" "$(awk -v f="$(mean "${frac[unshaped]}")" 'BEGIN { print 100 * f }')"
json_rows=""
for case in "${cases[@]}"; do
  IFS=: read -r rate dtype overlap <<< "$case"
  s=$(mean "${step[$case]}") f=$(mean "${frac[$case]}")
  read -r ps pe <<< "$(plan "$rate" "$dtype" "$overlap")"
  row=$(awk -v s="$s" -v f="$f" -v ps="$ps" -v pe="$pe" -v g=$((BATCH * HOSTS)) 'BEGIN {
    me = s * f; printf "%.1f %.3f %.4f %.3f %.3f %.1f %.1f", g / s, s, f, ps, pe, 100 * (ps - s) / s, (me > 0 ? 100 * (pe - me) / me : 0) }')
  read -r sps ms mf pstep pexp serr eerr <<< "$row"
  printf '%-8s %-5s %-8s %10s %9s %8.1f%% | %9s %9s %7s%% %7s%%\n' "$rate" "$dtype" "$overlap" "$sps" "$ms" \
    "$(awk -v f="$mf" 'BEGIN { print 100 * f }')" "$pstep" "$pexp" "$serr" "$eerr"
  json_rows+="${json_rows:+,}{\"link\":\"$rate\",\"wire\":\"$dtype\",\"overlap\":$overlap,\"samples_per_s\":$sps,\"step_seconds\":$ms,\"exposed_comm_fraction\":$mf,\"plan_step_seconds\":$pstep,\"plan_exposed_comm_seconds\":$pexp,\"step_error_pct\":$serr,\"exposed_error_pct\":$eerr}"
done
echo "(exposed: time waiting for gradient all-reduce after backward / step time; plan_exp: the model's exposed communication in s; errors: plan vs measured)"
[ "$json" = 0 ] || echo "{\"benchmark\":\"netns\",\"hosts\":$HOSTS,\"batch_per_rank\":$BATCH,\"latency_us\":$LATENCY_US,\"calibration_samples_per_s_per_rank\":$calibration,\"unshaped_step_seconds\":$un_step,\"cases\":[$json_rows]}"
