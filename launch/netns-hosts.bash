# Several "hosts" on this machine: Linux network namespaces joined by veth pairs to a bridge, for tests and
# benchmarks that need MPI traffic to really cross a (possibly slow) network. Sourced; needs root or CAP_NET_ADMIN
# and `ip` (iproute2), plus `tc` for shaping.
#
#   NETNS_DIR=SCRATCH netns_create N [RATE]   N hosts swiftclip-PID-node1..N with interface scnet0 at 10.213.0.1..N/24,
#                                             each joined by a veth pair to a bridge in swiftclip-PID-switch; with
#                                             RATE (a tc rate: 1gbit, 10gbit) each host's link is limited to RATE
#                                             in both directions. Sets NETNS_NAMES, NETNS_ADDRS (arrays), NETNS_IFACE,
#                                             NETNS_AGENT and NETNS_HOSTFILE; returns 1 with NETNS_ERROR set on failure.
#   netns_set_rate RATE|none                  (re)shapes every host's link, or removes the shaping.
#   netns_cluster_config FILE RANKS_PER_NODE [YAML LINES...]
#                                             a launch/train cluster config over these hosts (TCP only).
#   netns_mpirun RANKS_PER_NODE COMMAND...      COMMAND on every host under mpirun started in the first host.
#   netns_destroy                             kills what runs in the namespaces and deletes them (call it on EXIT).
#
# Nothing is added to the root namespace. Open MPI reaches the hosts through NETNS_AGENT, an rsh agent that runs
# the remote command with `ip netns exec` instead of ssh. Run mpirun inside the first host
# (`ip netns exec "${NETNS_NAMES[0]}" ...`), as if logged in on node 1.

NETNS_IFACE=scnet0
NETNS_NAMES=() NETNS_ADDRS=()

netns_destroy() {
  local ns pids
  for ns in ${NETNS_NAMES[@]+"${NETNS_NAMES[@]}"} "swiftclip-$$-switch"; do
    # Processes left in the namespace (after a failure or timeout) go before it does.
    pids=$(ip netns pids "$ns" 2> /dev/null || true)
    [ -z "$pids" ] || kill -9 $pids 2> /dev/null || true
    ip netns del "$ns" 2> /dev/null || true  # deleting a namespace destroys its veth ends and bridge
  done
}

# tbf on DEV in namespace NS: RATE with a bucket of 2 ms worth of bytes (at least 64 KiB, so GSO packets pass).
netns_shape() {
  local ns=$1 dev=$2 rate=$3 bits burst
  bits=$(awk -v r="$rate" 'BEGIN { n = r + 0; u = tolower(r); sub(/^[0-9.]+/, "", u)
    m = (u == "gbit") ? 1e9 : (u == "mbit") ? 1e6 : (u == "kbit") ? 1e3 : (u == "bit" || u == "") ? 1 : -1
    if (m < 0 || n <= 0) print ""; else printf "%.0f", n * m }')
  [ -n "$bits" ] || { echo "not a tc rate: '$rate' (use e.g. 1gbit, 500mbit)" >&2; return 1; }
  burst=$((bits / 8 / 500)); [ "$burst" -ge 65536 ] || burst=65536
  ip netns exec "$ns" tc qdisc replace dev "$dev" root tbf rate "$rate" burst "$burst" latency 50ms
}

netns_set_rate() {
  local rate=$1 i
  for ((i = 0; i < ${#NETNS_NAMES[@]}; i++)); do
    if [ "$rate" = none ]; then
      ip netns exec "${NETNS_NAMES[i]}" tc qdisc del dev "$NETNS_IFACE" root 2> /dev/null || true
      ip netns exec "swiftclip-$$-switch" tc qdisc del dev "port$((i + 1))" root 2> /dev/null || true
    else
      netns_shape "${NETNS_NAMES[i]}" "$NETNS_IFACE" "$rate" && netns_shape "swiftclip-$$-switch" "port$((i + 1))" "$rate" || return 1
    fi
  done
}

netns_create() {
  local n=$1 rate=${2:-} i ns switch=swiftclip-$$-switch
  NETNS_ERROR=""
  command -v ip > /dev/null || { NETNS_ERROR="the ip command (iproute2) is missing"; return 1; }
  [ -z "$rate" ] || command -v tc > /dev/null || { NETNS_ERROR="the tc command (iproute2) is missing"; return 1; }
  # Namespaces of an earlier run that was killed outright (SIGKILL skips its trap): their PID is gone.
  for ns in $(ip netns list 2> /dev/null | awk '$1 ~ /^swiftclip-[0-9]+-(node[0-9]+|switch)$/ { print $1 }'); do
    i=${ns#swiftclip-}; i=${i%%-*}
    kill -0 "$i" 2> /dev/null || ip netns del "$ns" 2> /dev/null || true
  done
  NETNS_NAMES=() NETNS_ADDRS=()
  for ((i = 1; i <= n; i++)); do NETNS_NAMES+=("swiftclip-$$-node$i") NETNS_ADDRS+=("10.213.0.$i"); done
  if ! ip netns add "$switch" 2> "$NETNS_DIR/ip.err"; then
    NETNS_ERROR="cannot create network namespaces ($(head -1 "$NETNS_DIR/ip.err"); needs root or CAP_NET_ADMIN)"; return 1
  fi
  # (errexit does not apply inside a tested subshell: every command is chained.)
  if ! (
    ip -n "$switch" link add br0 type bridge && ip -n "$switch" link set br0 up && ip -n "$switch" link set lo up || exit 1
    for ((i = 1; i <= n; i++)); do
      ns=${NETNS_NAMES[i - 1]}
      ip netns add "$ns" && ip -n "$ns" link set lo up &&
      ip -n "$ns" link add "$NETNS_IFACE" type veth peer name "port$i" netns "$switch" &&
      ip -n "$ns" addr add "${NETNS_ADDRS[i - 1]}/24" dev "$NETNS_IFACE" &&
      ip -n "$ns" link set "$NETNS_IFACE" up &&
      ip -n "$switch" link set "port$i" master br0 &&
      ip -n "$switch" link set "port$i" up || exit 1
    done
    # Both directions of each host's link: its own egress and the switch port's egress towards it.
    [ -z "$rate" ] || netns_set_rate "$rate" || exit 1
  ) 2> "$NETNS_DIR/ip.err"; then
    NETNS_ERROR="cannot build the veth/bridge network ($(head -1 "$NETNS_DIR/ip.err"))"; return 1
  fi

  # Open MPI's rsh launcher runs `AGENT [options] HOST COMMAND...` like ssh; the command is one shell line.
  NETNS_AGENT=$NETNS_DIR/netns-agent NETNS_HOSTFILE=$NETNS_DIR/netns-hosts
  {
    echo '#!/bin/sh'
    echo "echo \"\$*\" >> \"$NETNS_DIR/agent.log\""
    echo 'while [ $# -gt 0 ]; do'
    echo '  case "$1" in -[oplistFLRDJWbcemS]) shift 2 ;; -*) shift ;; *) break ;; esac  # ssh options'
    echo 'done'
    echo 'host=$1; shift'
    echo 'case "$host" in'
    for ((i = 0; i < n; i++)); do echo "  ${NETNS_ADDRS[i]}) ns=${NETNS_NAMES[i]} ;;"; done
    echo '  *) echo "netns agent: unknown host $host" >&2; exit 255 ;;'
    echo 'esac'
    echo 'exec ip netns exec "$ns" sh -c "$*"'
  } > "$NETNS_AGENT"
  chmod +x "$NETNS_AGENT"
  : > "$NETNS_HOSTFILE"
}

# mpirun flags that reach the hosts through the agent and keep MPI on TCP over their links, one per line. The eager
# limits are what docs/launching.md recommends for TCP networks ("TCP networks"): Open MPI's rendezvous handshake for a
# message above the eager limit queues behind the other direction's data, and collectives reach about half the link.
netns_mpirun_flags() {
  printf '%s\n' "--mca plm_rsh_agent $NETNS_AGENT" "--mca plm_rsh_no_tree_spawn 1" "--mca btl tcp,self" \
    "--mca btl_tcp_eager_limit 67108864" "--mca btl_tcp_rndv_eager_limit 67108864"
}

netns_hostfile() {  # netns_hostfile RANKS_PER_NODE
  local i
  : > "$NETNS_HOSTFILE"
  for ((i = 0; i < ${#NETNS_ADDRS[@]}; i++)); do echo "${NETNS_ADDRS[i]} slots=$1" >> "$NETNS_HOSTFILE"; done
}

netns_mpirun() {
  local ranks=$1; shift
  netns_hostfile "$ranks"
  # shellcheck disable=SC2046  # each flag line splits into its words on purpose
  ip netns exec "${NETNS_NAMES[0]}" mpirun --allow-run-as-root --hostfile "$NETNS_HOSTFILE" -np $((ranks * ${#NETNS_NAMES[@]})) \
    --map-by "ppr:$ranks:node" --bind-to none $(netns_mpirun_flags) \
    --mca btl_tcp_if_include "$NETNS_IFACE" --mca oob_tcp_if_include "$NETNS_IFACE" -x OPENBLAS_NUM_THREADS=1 "$@"
}

netns_cluster_config() {
  local file=$1 ranks=$2 line
  shift 2
  netns_hostfile "$ranks"
  {
    echo "# ${#NETNS_ADDRS[@]} network-namespace hosts, $ranks rank(s) each, TCP only, launched through the netns agent."
    echo "hostfile: $NETNS_HOSTFILE"
    echo "ranks-per-node: $ranks"
    echo "network-interface: $NETNS_IFACE"
    echo "blas-threads-per-rank: 1"
    echo "binding: none"
    echo "allow-run-as-root: true"
    echo "mpirun-args:"
    netns_mpirun_flags | sed 's/^/  - /'
    for line in "$@"; do echo "$line"; done
  } > "$file"
}
