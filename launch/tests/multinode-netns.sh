#!/usr/bin/env bash
# Two "hosts" as Linux network namespaces joined by a bridge: launch/train starts 4 ranks (2 per host) whose MPI
# traffic and Open MPI control channel really cross the veth links over TCP; 20 steps of clip-tiny must give the
# same losses and final parameters as a single-host `mpirun -np 4` (swiftclip compare, default tolerances).
# TCP and shared-memory reductions could round differently, so bit-identity is reported but not required (with
# Open MPI 4.1.4 the runs came out bit-identical).
# Skips (exit 0) where network namespaces cannot be created (no CAP_NET_ADMIN, no `ip`).
#
# Layout (launch/netns-hosts.bash; all created here, all removed on exit): namespaces NODE1 and NODE2 each hold one
# end of a veth pair named scnet0 (10.213.0.1/24, 10.213.0.2/24); the other ends are ports of a bridge in a third
# namespace. Nothing is added to the root namespace. mpirun runs inside NODE1 (as if logged in on node 1) and
# reaches NODE2 through an rsh agent that runs the remote command with `ip netns exec` instead of ssh.
set -euo pipefail
source "$(dirname "$0")/train-common.bash"
started=$SECONDS

skip() { echo "multinode-netns: SKIP: $*"; exit 0; }
if ! command -v ip > /dev/null; then
  if [ "$(id -u)" -eq 0 ] && command -v apt-get > /dev/null; then
    echo "multinode-netns: installing iproute2"
    { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq iproute2; } > /dev/null 2>&1 || true
  fi
  command -v ip > /dev/null || skip "the ip command (iproute2) is missing and cannot be installed here"
fi

source launch/netns-hosts.bash
NETNS_DIR=$SCRATCH
trap 'status=$?; netns_destroy; rm -rf "$SCRATCH"; exit $status' EXIT
trap 'exit 130' INT TERM
netns_create 2 || skip "$NETNS_ERROR"
NODE1=${NETNS_NAMES[0]} NODE2=${NETNS_NAMES[1]} ADDR2=${NETNS_ADDRS[1]} IFACE=$NETNS_IFACE
netns_cluster_config "$SCRATCH/netns-cluster.yaml" 2 "  - --display-map" "env:" "  - SWIFTCLIP_COLLECTIVE_TIMEOUT=120"

flags=(--max-steps 20 --batch-size 8 --logs "$SCRATCH" --log-every-n-steps 1 --val-frequency 1000)
t0=$SECONDS
if ! timeout 300 ip netns exec "$NODE1" launch/train --cluster "$SCRATCH/netns-cluster.yaml" \
     --recipe cluster-configs/clip-tiny.yaml -- "${flags[@]}" --name netns > "$SCRATCH/netns.log" 2>&1; then
  cat "$SCRATCH/netns.log"; echo "multinode-netns: the two-namespace run failed" >&2; exit 1
fi
netns_seconds=$((SECONDS - t0))
head -1 "$SCRATCH/netns.log"; grep -A2 "Data for node" "$SCRATCH/netns.log" | head -20
# The run must really have spanned both hosts: 2 ranks mapped to node 2, whose daemon came through the agent.
grep -Eq "Data for node: $ADDR2[[:space:]].*Num procs: 2" "$SCRATCH/netns.log" ||
  { cat "$SCRATCH/netns.log"; echo "multinode-netns: no ranks were mapped to $ADDR2" >&2; exit 1; }
grep -q "$ADDR2 .*orted" "$SCRATCH/agent.log" ||
  { echo "multinode-netns: Open MPI did not start a daemon on $ADDR2 through the agent" >&2; exit 1; }
# ... and its ranks' gradients crossed the veth link: bytes through node 2's interface, both directions.
link_bytes=$(ip netns exec "$NODE2" cat /sys/class/net/$IFACE/statistics/rx_bytes /sys/class/net/$IFACE/statistics/tx_bytes |
             awk '{ total += $1 } END { print total + 0 }')
[ "$link_bytes" -gt 10000000 ] ||
  { echo "multinode-netns: only $link_bytes bytes crossed $IFACE of $ADDR2; the ranks did not talk over TCP" >&2; exit 1; }
t0=$SECONDS
train 4 single "${flags[@]}" > "$SCRATCH/single.log" 2>&1 || { cat "$SCRATCH/single.log"; exit 1; }
single_seconds=$((SECONDS - t0))

"$SWIFTCLIP" compare "$SCRATCH/single" "$SCRATCH/netns" --ignore-key-bias
if "$SWIFTCLIP" compare "$SCRATCH/single" "$SCRATCH/netns" --ignore-key-bias --exact > /dev/null 2>&1; then
  identical="bit-identical"; else identical="within tolerance, not bit-identical"; fi
echo "multinode-netns: 2 namespace hosts over TCP ($((link_bytes / 1000000)) MB through $IFACE, ${netns_seconds}s) and one host (${single_seconds}s) agree, $identical; total $((SECONDS - started))s"
