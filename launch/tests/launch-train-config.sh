#!/usr/bin/env bash
# launch/train turns cluster configs into the expected mpirun command lines (--dry-run), and rejects bad configs
# with one line naming the file, line and key, exit status 2, and nothing launched.
set -euo pipefail
cd "$(dirname "$0")/../.."
scratch=$(mktemp -d /tmp/swiftclip-launch.XXXXXX)
trap 'rm -rf "$scratch"' EXIT
repo=$PWD recipe=cluster-configs/clip-tiny.yaml failures=0
fail() { echo "launch-train-config: FAIL: $*"; failures=$((failures + 1)); }

expect_command() {  # expect_command CONFIG EXPECTED [extra flags...]
  local config=$1 expected=$2 got; shift 2
  got=$(launch/train --dry-run --cluster "$config" --recipe "$recipe" -- "$@") || { fail "$config: exit $?"; return; }
  [ "$got" = "$expected" ] || fail "$config:"$'\n'"  got      $got"$'\n'"  expected $expected"
}
expect_command cluster-configs/local.yaml \
  "mpirun -np 2 --bind-to core -x OPENBLAS_NUM_THREADS=1 -x SWIFTCLIP_COLLECTIVE_TIMEOUT=300 $repo/.build/release/swiftclip train --config $recipe --name 'a b'" \
  --name "a b"
expect_command cluster-configs/two-node-example.yaml \
  "mpirun --hostfile $repo/cluster-configs/two-node-example.hosts -np 4 --map-by ppr:2:node:PE=4 --bind-to core --mca btl_tcp_if_include eth0 --mca oob_tcp_if_include eth0 -x OPENBLAS_NUM_THREADS=4 -x SWIFTCLIP_COLLECTIVE_TIMEOUT=600 -x SWIFTCLIP_MODELS --report-bindings --mca btl_tcp_eager_limit 67108864 --mca btl_tcp_rndv_eager_limit 67108864 $repo/.build/release/swiftclip train --config $recipe"
cat > "$scratch/inline.yaml" << 'EOF'
hosts:
  - n1
  - "n2:4"      # more slots than needed
ranks-per-node: 3
binding: socket
allow-run-as-root: yes
mpi-prefix: /opt/ompi
swiftclip: /opt/bin/swiftclip
env:
  - 'GREETING=it''s'
mpirun-args: --mca pml ob1
EOF
expect_command "$scratch/inline.yaml" \
  "mpirun --allow-run-as-root --prefix /opt/ompi --host n1:3,n2:4 -np 6 --map-by ppr:3:node --bind-to socket -x OPENBLAS_NUM_THREADS=1 -x 'GREETING=it'\\''s' --mca pml ob1 /opt/bin/swiftclip train --config $recipe"

# The printed line must read back as the same words.
line=$(launch/train --dry-run --cluster cluster-configs/local.yaml --recipe "$recipe" -- --name "it's here")
eval "words=($line)"
[ "${words[-1]}" = "it's here" ] || fail "quoting does not round-trip: ${words[-1]}"

expect_error() {  # expect_error MESSAGE-PART CONFIG-LINES...
  local part=$1 out status=0; shift
  printf '%s\n' "$@" > "$scratch/bad.yaml"
  out=$(launch/train --dry-run --cluster "$scratch/bad.yaml" --recipe "$recipe" 2>&1) || status=$?
  [ "$status" = 2 ] || fail "'$*': exit $status, expected 2 ($out)"
  [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] || fail "'$*': not one line: $out"
  [[ "$out" == *"$scratch/bad.yaml"*"$part"* ]] || fail "'$*': '$out' lacks the file or '$part'"
}
expect_error "line 1: key 'ranks-per-node': expected a positive integer" "ranks-per-node: two"
expect_error "key 'ranks-per-node' is required" "binding: none"
expect_error "line 2: key 'binding': expected none, core or socket" "ranks-per-node: 2" "binding: cores"
expect_error "line 2: unknown key 'rank-per-node'" "ranks-per-node: 2" "rank-per-node: 2"
expect_error "line 2: key 'ranks-per-node' given twice" "ranks-per-node: 2" "ranks-per-node: 2"
expect_error "line 3: key 'hosts': 'n1:1' has 1 slots" "ranks-per-node: 2" "hosts:" "  - n1:1"
expect_error "key 'hosts': expected a list" "ranks-per-node: 2" "hosts: n1"
expect_error "keys 'hosts' and 'hostfile' both given" "ranks-per-node: 2" "hosts:" "  - n1" "hostfile: x"
expect_error "key 'hostfile':" "ranks-per-node: 2" "hostfile: missing.hosts"
expect_error "key 'env': '1X=y' is not NAME" "ranks-per-node: 2" "env:" "  - 1X=y"
expect_error "key 'oversubscribe': expected true or false" "ranks-per-node: 2" "oversubscribe: maybe"
expect_error "key 'oversubscribe': missing value" "ranks-per-node: 2" "oversubscribe:"
expect_error "key 'blas-threads-per-rank': missing value" "ranks-per-node: 2" "blas-threads-per-rank:"
expect_error "line 2: key 'binding': unterminated quote" "ranks-per-node: 2" "binding: 'core"
expect_error "line 2: not a \"key: value\" line" "ranks-per-node: 2" "  nested: map"
printf 'n1 slots=1\n' > "$scratch/small.hosts"
printf 'ranks-per-node: 2\nhostfile: small.hosts\n' > "$scratch/small.yaml"
status=0; out=$(launch/train --dry-run --cluster "$scratch/small.yaml" --recipe "$recipe" 2>&1) || status=$?
[ "$status" = 2 ] && [[ "$out" == *"small.hosts: line 1: host n1 has 1 slots"* ]] || fail "hostfile slots: $status $out"
status=0; out=$(launch/train --dry-run --cluster cluster-configs/local.yaml --recipe "$scratch/none.yaml" 2>&1) || status=$?
[ "$status" = 2 ] && [[ "$out" == *"none.yaml: recipe not found"* ]] || fail "missing recipe: $status $out"

[ "$failures" = 0 ] || { echo "launch-train-config: $failures failures"; exit 1; }
echo "launch-train-config: command lines and config errors as expected"
