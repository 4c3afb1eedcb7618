#!/usr/bin/env bash
# Two "hosts" as Linux network namespaces joined by a bridge: launch/train starts 4 ranks (2 per host) whose MPI
# traffic and Open MPI control channel really cross the veth links over TCP; 20 steps of clip-tiny must give the
# same losses and final parameters as a single-host `mpirun -np 4` (swiftclip compare, default tolerances).
# TCP and shared-memory reductions could round differently, so bit-identity is reported but not required (with
# Open MPI 4.1.4 the runs came out bit-identical).
# Skips (exit 0) where network namespaces cannot be created (no CAP_NET_ADMIN, no `ip`).
#
# Layout (all created here, all removed on exit): namespaces NODE1 and NODE2 each hold one end of a veth pair
# named scnet0 (10.213.0.1/24, 10.213.0.2/24); the other ends are ports of a bridge in a third namespace, SWITCH.
# Nothing is added to the root namespace. mpirun runs inside NODE1 (as if logged in on node 1) and reaches NODE2
# through an rsh agent that runs the remote command with `ip netns exec` instead of ssh.
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

NODE1=swiftclip-$$-node1 NODE2=swiftclip-$$-node2 SWITCH=swiftclip-$$-switch
ADDR1=10.213.0.1 ADDR2=10.213.0.2 IFACE=scnet0
cleanup() {
  local status=$?
  for ns in "$NODE1" "$NODE2" "$SWITCH"; do
    # Processes this test left in its namespaces (after a failure or timeout): stop them before the namespace goes.
    pids=$(ip netns pids "$ns" 2> /dev/null || true)
    [ -z "$pids" ] || kill -9 $pids 2> /dev/null || true
    ip netns del "$ns" 2> /dev/null || true  # deleting a namespace destroys its veth ends and bridge
  done
  rm -rf "$SCRATCH"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
# Namespaces of an earlier run of this test that was killed outright (SIGKILL skips its trap): their PID is gone.
for ns in $(ip netns list 2> /dev/null | awk '$1 ~ /^swiftclip-[0-9]+-(node1|node2|switch)$/ { print $1 }'); do
  pid=${ns#swiftclip-}; pid=${pid%%-*}
  kill -0 "$pid" 2> /dev/null || ip netns del "$ns" 2> /dev/null || true
done

ip netns add "$NODE1" 2> "$SCRATCH/ip.err" ||
  skip "cannot create network namespaces ($(head -1 "$SCRATCH/ip.err"); needs root or CAP_NET_ADMIN)"
network() {
  ip netns add "$NODE2" && ip netns add "$SWITCH" &&
  ip -n "$SWITCH" link add br0 type bridge && ip -n "$SWITCH" link set br0 up &&
  ip -n "$SWITCH" link set lo up || return 1
  local i ns addr
  for i in 1 2; do
    ns=$NODE1 addr=$ADDR1; [ "$i" = 1 ] || { ns=$NODE2 addr=$ADDR2; }
    ip -n "$ns" link set lo up &&
    ip -n "$ns" link add "$IFACE" type veth peer name "port$i" netns "$SWITCH" &&
    ip -n "$ns" addr add "$addr/24" dev "$IFACE" &&
    ip -n "$ns" link set "$IFACE" up &&
    ip -n "$SWITCH" link set "port$i" master br0 &&
    ip -n "$SWITCH" link set "port$i" up || return 1
  done
}
network 2> "$SCRATCH/ip.err" || skip "cannot build the veth/bridge network ($(head -1 "$SCRATCH/ip.err"))"

# Open MPI's rsh launcher runs `AGENT [options] HOST COMMAND...` like ssh; the command is one shell line.
cat > "$SCRATCH/agent" << EOF
#!/bin/sh
echo "\$*" >> "$SCRATCH/agent.log"
while [ \$# -gt 0 ]; do
  case "\$1" in
    -[oplistFLRDJWbcemS]) shift 2 ;;   # ssh options that take a value
    -*) shift ;;
    *) break ;;
  esac
done
host=\$1; shift
case "\$host" in
  $ADDR1) ns=$NODE1 ;;
  $ADDR2) ns=$NODE2 ;;
  *) echo "netns agent: unknown host \$host" >&2; exit 255 ;;
esac
exec ip netns exec "\$ns" sh -c "\$*"
EOF
chmod +x "$SCRATCH/agent"
printf '%s slots=2\n%s slots=2\n' "$ADDR1" "$ADDR2" > "$SCRATCH/hosts"
cat > "$SCRATCH/netns-cluster.yaml" << EOF
# Two network-namespace hosts, 2 ranks each, TCP only, launched through the netns agent.
hostfile: $SCRATCH/hosts
ranks-per-node: 2
network-interface: $IFACE
blas-threads-per-rank: 1
binding: none
allow-run-as-root: true
env:
  - SWIFTCLIP_COLLECTIVE_TIMEOUT=120
mpirun-args:
  - --mca plm_rsh_agent $SCRATCH/agent
  - --mca plm_rsh_no_tree_spawn 1
  - --mca btl tcp,self
  - --display-map
EOF

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
