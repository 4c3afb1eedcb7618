#!/usr/bin/env bash
# Four network-namespace hosts (launch/netns-hosts.bash), one rank each, every link limited to 1 Gbit/s with tc tbf:
# clip-tiny trains over TCP with fp32 gradient communication with and without overlap, and bf16 with overlap.
#   - fp32 must agree with a single-host `mpirun -np 4` (swiftclip compare, default tolerances);
#   - overlap off must give exactly the same model as overlap on (the same sums in the same order);
#   - bf16 must train (its loss stays within 5 % of fp32's at the last step) and move at most 65 % of fp32's bytes
#     through a host's link (gradients are half the bytes);
#   - each run reports samples/s and its exposed communication (comm_wait / step_time, results.jsonl).
# The figures that matter (clip-bench, 2 and 4 hosts, 1 and 10 Gbit/s, against swiftclip plan) come from
# Benchmarks/run netns. Skips (exit 0) where network namespaces cannot be created (no CAP_NET_ADMIN, no `ip`/`tc`).
set -euo pipefail
source "$(dirname "$0")/train-common.bash"
started=$SECONDS
command -v ip > /dev/null && command -v tc > /dev/null || { echo "netns-4hosts: SKIP: ip or tc (iproute2) is missing"; exit 0; }

source launch/netns-hosts.bash
NETNS_DIR=$SCRATCH
trap 'status=$?; netns_destroy; rm -rf "$SCRATCH"; exit $status' EXIT
trap 'exit 130' INT TERM
netns_create 4 1gbit || { echo "netns-4hosts: SKIP: $NETNS_ERROR"; exit 0; }
netns_cluster_config "$SCRATCH/cluster.yaml" 1 "env:" "  - SWIFTCLIP_COLLECTIVE_TIMEOUT=120"
fail() { echo "netns-4hosts: $*" >&2; exit 1; }

link_bytes() {  # bytes through the second host's link so far, both directions
  ip netns exec "${NETNS_NAMES[1]}" cat /sys/class/net/$NETNS_IFACE/statistics/rx_bytes /sys/class/net/$NETNS_IFACE/statistics/tx_bytes |
    awk '{ total += $1 } END { print total + 0 }'
}
# field RUN KEY: the median of KEY over steps 3.. of RUN's results.jsonl; last_loss RUN: the loss of its last step.
field() {
  grep -Eo "\"$2\": ?[0-9.eE+-]+" "$SCRATCH/$1/results.jsonl" | tail -n +3 | grep -Eo '[0-9.eE+-]+$' | sort -g |
    awk '{ v[NR] = $1 } END { print (NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2) }'
}
last_loss() { grep -Eo '"loss": ?[0-9.eE+-]+' "$SCRATCH/$1/results.jsonl" | tail -n 1 | grep -Eo '[0-9.eE+-]+$'; }

flags=(--max-steps 5 --batch-size 8 --log-every-n-steps 1 --val-frequency 1000 --logs "$SCRATCH")
declare -A bytes
for run in fp32:true fp32:false bf16:true; do
  dtype=${run%:*} overlap=${run#*:} name=${run/:/-}
  before=$(link_bytes)
  timeout 300 ip netns exec "${NETNS_NAMES[0]}" launch/train --cluster "$SCRATCH/cluster.yaml" --recipe cluster-configs/clip-tiny.yaml \
    -- "${flags[@]}" --name "$name" --grad-comm-dtype "$dtype" --overlap-comm "$overlap" > "$SCRATCH/$name.log" 2>&1 ||
    { cat "$SCRATCH/$name.log"; fail "the 4-host run $name failed"; }
  bytes[$name]=$(( $(link_bytes) - before ))
  step=$(field "$name" step_time) wait=$(field "$name" comm_wait)
  awk -v n="$name" -v s="$step" -v w="$wait" -v b="${bytes[$name]}" 'BEGIN {
    printf "netns-4hosts: %-11s %6.1f samples/s, exposed communication %4.1f %%, %5.1f MB through host 2\n", n, 32 / s, 100 * w / s, b / 1e6 }'
done
train 4 single "${flags[@]}" > "$SCRATCH/single.log" 2>&1 || { cat "$SCRATCH/single.log"; fail "the single-host run failed"; }

"$SWIFTCLIP" compare "$SCRATCH/single" "$SCRATCH/fp32-true" --ignore-key-bias > /dev/null ||
  fail "4 shaped hosts (fp32) disagree with one host: $("$SWIFTCLIP" compare "$SCRATCH/single" "$SCRATCH/fp32-true" --ignore-key-bias 2>&1 | tail -n 1)"
"$SWIFTCLIP" compare "$SCRATCH/fp32-true" "$SCRATCH/fp32-false" --exact > /dev/null ||
  fail "overlap off does not give the same model as overlap on"
awk -v a="$(last_loss fp32-true)" -v b="$(last_loss bf16-true)" 'BEGIN { d = (b - a) / a; exit !(d < 0.05 && d > -0.05) }' ||
  fail "bf16's last loss $(last_loss bf16-true) is not within 5 % of fp32's $(last_loss fp32-true)"
[ $((bytes[bf16-true] * 100)) -le $((bytes[fp32-true] * 65)) ] ||
  fail "bf16 moved ${bytes[bf16-true]} bytes through host 2, more than 65 % of fp32's ${bytes[fp32-true]}"
echo "netns-4hosts: 4 hosts at 1 Gbit/s agree with one host; overlap on/off identical; bf16 moved $((100 * bytes[bf16-true] / bytes[fp32-true])) % of fp32's bytes; $((SECONDS - started))s"
