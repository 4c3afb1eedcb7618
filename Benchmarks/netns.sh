#!/usr/bin/env bash
# Slow networks for real: clip-bench training on HOSTS network-namespace hosts (launch/netns-hosts.bash, 1 rank and
# 1 BLAS thread each, MPI over TCP through veth links shaped with tc tbf), for each link rate in RATES with fp32 and
# bf16 gradient communication, each with and without overlap (--overlap-comm false), plus the unshaped link.
# Per case: samples/s and exposed communication (the trainer's comm_wait and step_time from results.jsonl; each the
# median over every timed step of every round, pooled: single steps swing widely on these links, see
# docs/scaling-model.md, so a round's few steps are not summarised on their own; the quartiles are printed beside). `swiftclip plan` then predicts step time and exposed communication with the same bandwidth,
# latency, bucket size, wire type and overlap, and two measured inputs, taken in the same rounds:
#   - compute: HOSTS concurrent one-rank runs (same cores, same oversubscription, no communication);
#   - the CPU cost of communication (--comm-cpu-ns-per-byte): the trainer's bucketed gradient averaging alone
#     (distributed-selftest bench-gradient-comm) over the unshaped links, per wire type.
# The same gradient averaging is also timed on each shaped link, beside plan's all-reduce time.
# Plan's bandwidths are what MPI achieves, as a cluster measures it: per link, the raw MPI calls of one 8 MiB gradient
# bucket (distributed-selftest probe-allreduce: --wire fp32, MPI_Allreduce, plan's --bandwidth; --wire bf16, the bf16
# averaging's MPI_Alltoallv + MPI_Allgatherv, plan's --bf16-bandwidth) converted to bus bandwidth per node and
# direction. Plan is told each rank runs 1 BLAS thread (--compute-threads-per-rank 1). Plan's exposed communication
# compared is its gradient averaging's wait after backward, the quantity comm_wait measures (the feature collectives
# before the loss are not in comm_wait; they are in the step time). Plan with the link's nominal rate is printed beside it.
# Cases are interleaved round by round (the machine drifts over minutes); the load average is reported.
# Usage: Benchmarks/run netns [--json]
#   env: RATES ("1gbit 10gbit"), HOSTS (2), BATCH per rank (16), STEPS (12, the first WARMUP=2 untimed), ROUNDS (1),
#        LATENCY_US (the latency given to plan; tc here cannot add delay, see docs/scaling-model.md),
#        SAVE=FILE keeps the measurements; REPLAY=FILE compares saved measurements with plan without measuring again,
#        SWIFTCLIP=PATH trains with another build of swiftclip (plan always runs this checkout's)
# Needs root (network namespaces, tc).
set -euo pipefail
cd "$(dirname "$0")/.."
source launch/build-env
for product in swiftclip distributed-selftest; do
  swift build "${SWIFT_BUILD_FLAGS[@]}" --product $product 2>&1 | grep -E "error" >&2 || true
done
BIN=$PWD/.build/release/swiftclip SELFTEST=${SELFTEST:-$PWD/.build/release/distributed-selftest} TRAIN_BIN=${SWIFTCLIP:-$PWD/.build/release/swiftclip}
json=0; [ "${1:-}" = --json ] && json=1
RATES=${RATES:-1gbit 10gbit} HOSTS=${HOSTS:-2} BATCH=${BATCH:-16} STEPS=${STEPS:-12} WARMUP=${WARMUP:-2} ROUNDS=${ROUNDS:-1}
LATENCY_US=${LATENCY_US:-100}
CAPTION_TOKENS=17  # the random data's captions fill 2…32 positions of clip-bench's context, uniformly: 17 on average
UNSHAPED_GBS=100  # the bandwidth plan is given for the unshaped veth link: no wire limit, only the CPU cost remains
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OPENBLAS_NUM_THREADS=1
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
declare -A step waits comm bus
compute="" cpu_fp32="" cpu_bf16="" parameters=""
cases=()
for rate in unshaped $RATES; do for dtype in fp32 bf16; do for overlap in true false; do
  [ "$rate" != unshaped ] || [ "$dtype:$overlap" = fp32:true ] || continue
  cases+=("$rate:$dtype:$overlap")
done; done; done

mean() { awk '{ for (i = 1; i <= NF; i++) s += $i } END { printf "%.4f", s / NF }' <<< "$1"; }
# quantile Q LIST: the Q-quantile of the numbers in LIST (linear between order statistics); median LIST: Q = 0.5.
quantile() { tr -s ' ' '\n' <<< "$2" | grep . | sort -g | awk -v q="$1" '{ v[NR] = $1 }
  END { h = 1 + (NR - 1) * q; i = int(h); printf "%.4f", v[i] + (h - i) * (v[i + 1 > NR ? NR : i + 1] - v[i]) }'; }
median() { quantile 0.5 "$1"; }

if [ -n "${REPLAY:-}" ]; then
  source "$REPLAY"
else
source launch/netns-hosts.bash
NETNS_DIR=$(mktemp -d /tmp/swiftclip-netns-bench.XXXXXX)
trap 'netns_destroy; rm -rf "$NETNS_DIR"' EXIT
netns_create "$HOSTS" || { echo "netns benchmark: $NETNS_ERROR" >&2; exit 1; }
netns_cluster_config "$NETNS_DIR/cluster.yaml" 1 "swiftclip: $TRAIN_BIN" "env:" "  - SWIFTCLIP_COLLECTIVE_TIMEOUT=600"
train_flags=(--batch-size "$BATCH" --max-steps "$STEPS" --logs "$NETNS_DIR/runs" --log-every-n-steps 1 --val-frequency 1000
             --save-frequency 1000)

# timed FIELD FILE...: FIELD (step_time or comm_wait) of every timed step of the runs, space-separated.
timed() {
  local field=$1; shift
  awk -v warm="$WARMUP" -v field="$field" '
    /"step_time"/ { s = $0; sub(/.*"step": */, "", s); sub(/[,}].*/, "", s); if (s + 0 <= warm) next
      v = 0; if ($0 ~ "\"" field "\"") { v = $0; sub(".*\"" field "\": *", "", v); sub(/[,}].*/, "", v) }
      printf " %s", v + 0 }' "$@"
}
run() {  # run CASE NAME FLAGS...: clip-bench over the hosts; adds its timed steps to step[CASE] and waits[CASE]
  local case=$1 name=$2; shift 2
  timeout 900 ip netns exec "${NETNS_NAMES[0]}" launch/train --cluster "$NETNS_DIR/cluster.yaml" \
    --recipe cluster-configs/clip-bench.yaml -- "${train_flags[@]}" --name "$name" "$@" > "$NETNS_DIR/$name.log" 2>&1 ||
    { tail -20 "$NETNS_DIR/$name.log" >&2; echo "netns benchmark: run $name failed" >&2; exit 1; }
  step[$case]+=$(timed step_time "$NETNS_DIR/runs/$name/results.jsonl")
  waits[$case]+=$(timed comm_wait "$NETNS_DIR/runs/$name/results.jsonl")
}
compute_alone() {  # compute_alone NAME: HOSTS one-rank runs at once; prints the step times of all their timed steps
  local i pids=() files=()
  for ((i = 1; i <= HOSTS; i++)); do
    timeout 900 "$TRAIN_BIN" train --config cluster-configs/clip-bench.yaml "${train_flags[@]}" --name "$1-$i" > "$NETNS_DIR/$1-$i.log" 2>&1 &
    pids+=($!) files+=("$NETNS_DIR/runs/$1-$i/results.jsonl")
  done
  for i in "${!pids[@]}"; do
    wait "${pids[i]}" || { tail -20 "$NETNS_DIR/$1-$((i + 1)).log" >&2; echo "netns benchmark: run $1-$((i + 1)) failed" >&2; exit 1; }
  done
  timed step_time "${files[@]}"
}
gradient_comm() {  # gradient_comm WIRE: the gradient averaging alone over the hosts; "median_seconds ns_per_byte_sent"
  netns_mpirun 1 "$SELFTEST" bench-gradient-comm --parameters "$parameters" --bucket-mb 8 --wire "$1" --repetitions 5 \
    2> "$NETNS_DIR/gc.err" | tail -n 1 |
    awk '{ s = $0; sub(/.*"median_seconds": */, "", s); sub(/[,}].*/, "", s)
           c = $0; sub(/.*"ns_per_byte_sent": */, "", c); sub(/[,}].*/, "", c); print s, c }'
}
probe() {  # probe WIRE: the raw MPI calls of one 8 MiB bucket on that wire over the hosts; their bus bandwidth, GB/s
  netns_mpirun 1 "$SELFTEST" probe-allreduce --mib 8 --wire "$1" --repetitions 10 2> "$NETNS_DIR/probe.err" | tail -n 1 |
    awk '{ b = $0; sub(/.*"bus_gbps": */, "", b); sub(/[,}].*/, "", b); print b }'
}

for ((round = 1; round <= ROUNDS; round++)); do
  netns_set_rate none
  c=$(compute_alone "alone-$round"); compute+=" $c"; c=$(median "$c")
  [ -n "$parameters" ] || parameters=$(grep -Eo 'clip-bench \([0-9]+ parameters\)' "$NETNS_DIR/alone-$round-1.log" | grep -Eo '[0-9]+')
  echo "round $round: compute alone ($HOSTS one-rank runs at once) $c s/step" >&2
  for rate in unshaped $RATES; do
    netns_set_rate "${rate/unshaped/none}"
    for dtype in fp32 bf16; do
      read -r s n <<< "$(gradient_comm "$dtype")"
      comm[$rate:$dtype]+=" $s"
      [ "$rate" != unshaped ] || { [ $dtype = fp32 ] && cpu_fp32+=" $n" || cpu_bf16+=" $n"; }
      echo "round $round $rate $dtype gradient averaging alone: $s s ($n ns per byte sent)" >&2
      b=$(probe "$dtype"); bus[$rate:$dtype]+=" $b"
      echo "round $round $rate $dtype raw bucket collective: bus bandwidth $b GB/s" >&2
    done
    for case in "${cases[@]}"; do
      IFS=: read -r r dtype overlap <<< "$case"
      [ "$r" = "$rate" ] || continue
      run "$case" "$rate-$dtype-$overlap-$round" --grad-comm-dtype "$dtype" --overlap-comm "$overlap"
      echo "round $round $case: so far median $(median "${step[$case]}") s/step, waiting $(median "${waits[$case]}") s" >&2
    done
  done
done
load_end=$(cut -d' ' -f1-3 /proc/loadavg)
[ -z "${SAVE:-}" ] || declare -p step waits comm bus compute cpu_fp32 cpu_bf16 parameters load_start load_end > "$SAVE"
fi

compute=$(median "$compute") cpu_fp32=$(mean "$cpu_fp32") cpu_bf16=$(mean "$cpu_bf16")
calibration=$(awk -v b="$BATCH" -v c="$compute" 'BEGIN { printf "%.3f", b / c }')
rate_gbs() { [ "$1" = unshaped ] && { echo "$UNSHAPED_GBS"; return; }
  awk -v r="$1" 'BEGIN { n = r + 0; u = tolower(r); sub(/^[0-9.]+/, "", u)
  m = (u == "gbit") ? 1e9 : (u == "mbit") ? 1e6 : 1; printf "%.6f", n * m / 8 / 1e9 }'; }
# achieved RATE DTYPE: the bus bandwidth the probe reached (GB/s); the nominal rate for saved runs without it.
achieved() { local b=${bus[$1:$2]:-}; [ -n "${b// }" ] && mean "$b" || rate_gbs "$1"; }
plan() {  # plan RATE DTYPE OVERLAP FP32_GBS BF16_GBS: "step_seconds gradient_exposed_seconds gradient_all_reduce_seconds"
  "$BIN" plan --model clip-bench --global-batch $((BATCH * HOSTS)) --nodes "$HOSTS" --ranks-per-node 1 \
    --bandwidth "$4" --bf16-bandwidth "$5" --latency "$LATENCY_US" --bucket-mib 8 --samples-per-second-per-rank "$calibration" --caption-tokens "$CAPTION_TOKENS" \
    --grad-comm-dtype "$2" --overlap-comm "$3" --comm-cpu-ns-per-byte "$cpu_fp32" --bf16-comm-cpu-ns-per-byte "$cpu_bf16" \
    --compute-threads-per-rank 1 --json | tail -1 |
    awk '{ s = $0; sub(/.*"step_seconds": */, "", s); sub(/[,}].*/, "", s)
           e = $0; sub(/.*"gradient_all_reduce_exposed_seconds": */, "", e); sub(/[,}].*/, "", e)
           g = $0; sub(/.*"gradient_all_reduce_seconds": */, "", g); sub(/[,}].*/, "", g); print s, e, g }'
}

printf '\nclip-bench (%s parameters), %d hosts x 1 rank, batch %d per rank, %d timed steps x %d round(s); load average %s at the start, %s at the end\n' \
  "$parameters" "$HOSTS" "$BATCH" $((STEPS - WARMUP)) "$ROUNDS" "$load_start" "$load_end"
printf 'plan inputs: latency %s us; compute %.3f s/step (%s samples/s per rank, %d one-rank runs at once); communication CPU %s ns/byte (fp32), %s ns/byte (bf16)\n\n' \
  "$LATENCY_US" "$compute" "$calibration" "$HOSTS" "$cpu_fp32" "$cpu_bf16"
pct() { awk -v m="$1" -v p="$2" 'BEGIN { printf "%.1f", (m > 0 ? 100 * (p - m) / m : 0) }'; }
printf 'gradient averaging alone (%s parameters in 8 MiB buckets, no compute); plan with the bandwidth the probe achieved (bus GB/s) | with the nominal rate:\n%-9s %-5s %8s %9s %9s %8s | %9s %8s\n' \
  "$parameters" link wire bus_GB/s measured plan error nominal error
json_comm=""
for rate in unshaped $RATES; do for dtype in fp32 bf16; do
  m=$(mean "${comm[$rate:$dtype]}") bw=$(achieved "$rate" "$dtype")
  read -r _ _ pg <<< "$(plan "$rate" "$dtype" false "$(achieved "$rate" fp32)" "$(achieved "$rate" bf16)")"
  read -r _ _ ng <<< "$(plan "$rate" "$dtype" false "$(rate_gbs "$rate")" "$(rate_gbs "$rate")")"
  err=$(pct "$m" "$pg") nerr=$(pct "$m" "$ng")
  printf '%-9s %-5s %8.4f %9.3f %9.3f %7s%% | %9.3f %7s%%\n' "$rate" "$dtype" "$bw" "$m" "$pg" "$err" "$ng" "$nerr"
  json_comm+="${json_comm:+,}{\"link\":\"$rate\",\"wire\":\"$dtype\",\"bus_gbps\":$bw,\"nominal_gbps\":$(rate_gbs "$rate"),\"seconds\":$m,\"plan_seconds\":$pg,\"error_pct\":$err,\"nominal_plan_seconds\":$ng,\"nominal_error_pct\":$nerr}"
done; done
printf '\ntraining (medians over all timed steps; plan with the achieved bandwidth | with the nominal rate):\n%-9s %-5s %-8s %10s %7s %7s %13s %8s | %9s %9s %8s %8s | %9s %9s %8s %8s\n' \
  link wire overlap samples/s step_s wait_s wait_quartiles exposed plan_step plan_wait step_err wait_err nom_step nom_wait step_err wait_err
json_rows=""
for case in "${cases[@]}"; do
  IFS=: read -r rate dtype overlap <<< "$case"
  ms=$(median "${step[$case]}") me=$(median "${waits[$case]}")
  q1=$(quantile 0.25 "${waits[$case]}") q3=$(quantile 0.75 "${waits[$case]}") n=$(wc -w <<< "${waits[$case]}")
  read -r ps pe _ <<< "$(plan "$rate" "$dtype" "$overlap" "$(achieved "$rate" fp32)" "$(achieved "$rate" bf16)")"
  read -r ns ne _ <<< "$(plan "$rate" "$dtype" "$overlap" "$(rate_gbs "$rate")" "$(rate_gbs "$rate")")"
  read -r sps mf pstep pexp nstep nexp <<< "$(awk -v s="$ms" -v e="$me" -v ps="$ps" -v pe="$pe" -v ns="$ns" -v ne="$ne" -v g=$((BATCH * HOSTS)) \
    'BEGIN { printf "%.1f %.4f %.3f %.3f %.3f %.3f\n", g / s, e / s, ps, pe, ns, ne }')"
  serr=$(pct "$ms" "$ps") eerr=$(pct "$me" "$pe") nserr=$(pct "$ms" "$ns") neerr=$(pct "$me" "$ne")
  printf '%-9s %-5s %-8s %10s %7.3f %7.3f %13s %7.1f%% | %9s %9s %7s%% %7s%% | %9s %9s %7s%% %7s%%\n' "$rate" "$dtype" "$overlap" "$sps" "$ms" \
    "$me" "$(printf '%.3f-%.3f' "$q1" "$q3")" "$(awk -v f="$mf" 'BEGIN { print 100 * f }')" "$pstep" "$pexp" "$serr" "$eerr" "$nstep" "$nexp" "$nserr" "$neerr"
  json_rows+="${json_rows:+,}{\"link\":\"$rate\",\"wire\":\"$dtype\",\"overlap\":$overlap,\"timed_steps\":$n,\"samples_per_s\":$sps,\"step_seconds\":$ms,\"comm_wait_seconds\":$me,\"comm_wait_quartiles\":[$q1,$q3],\"exposed_comm_fraction\":$mf,\"plan_step_seconds\":$pstep,\"plan_exposed_comm_seconds\":$pexp,\"step_error_pct\":$serr,\"exposed_error_pct\":$eerr,\"nominal_plan_step_seconds\":$nstep,\"nominal_plan_exposed_comm_seconds\":$nexp,\"nominal_step_error_pct\":$nserr,\"nominal_exposed_error_pct\":$neerr}"
done
echo "(wait: time waiting for gradient averaging after backward, comm_wait, with its quartiles over the timed steps; exposed: wait / step time; plan_wait: the model's same wait in s; errors: plan vs measured; nominal: plan at the link rate, $UNSHAPED_GBS GB/s for unshaped)"
[ "$json" = 0 ] || echo "{\"benchmark\":\"netns\",\"hosts\":$HOSTS,\"batch_per_rank\":$BATCH,\"latency_us\":$LATENCY_US,\"load_start\":\"$load_start\",\"load_end\":\"$load_end\",\"compute_seconds\":$compute,\"calibration_samples_per_s_per_rank\":$calibration,\"comm_cpu_ns_per_byte\":{\"fp32\":$cpu_fp32,\"bf16\":$cpu_bf16},\"gradient_comm\":[$json_comm],\"cases\":[$json_rows]}"
