#!/usr/bin/env bash
# SLURM for real: starts munged, slurmctld and slurmd on this machine (one node, 2 CPUs, a config written here),
# submits launch/slurm.sbatch with sbatch for 2-task clip-tiny runs and checks:
#   1. an uninterrupted 120-step run trains and writes its checkpoints;
#   2. the same run, scancel'ed once it has a checkpoint and is past step 25, then resubmitted with
#      --resume latest (this time with SWIFTCLIP_LAUNCHER=srun, ranks started by SLURM through PMIx), continues
#      from its last checkpoint and ends bit-identical to run 1 (deterministic mode, same world size).
# Installs slurm-wlm and munge with apt-get when missing. Skips (exit 0, one message) only where the daemons
# cannot be installed or started. Every daemon it starts is stopped on exit; all state lives in a temp folder.
set -euo pipefail
source "$(dirname "$0")/train-common.bash"
started=$SECONDS
skip() { echo "slurm: SKIP: $*"; exit 0; }
fail() { echo "slurm: $*" >&2; exit 1; }

if ! command -v slurmctld > /dev/null || ! command -v munged > /dev/null; then
  [ "$(id -u)" -eq 0 ] && command -v apt-get > /dev/null || skip "slurm-wlm/munge are not installed and this is not root with apt-get"
  echo "slurm: installing slurm-wlm and munge with apt-get"
  DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq slurm-wlm munge > "$SCRATCH/apt.log" 2>&1 ||
    { apt-get update -qq > /dev/null 2>&1 &&
      DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq slurm-wlm munge > "$SCRATCH/apt.log" 2>&1; } ||
    skip "apt-get could not install slurm-wlm and munge ($(tail -1 "$SCRATCH/apt.log"))"
fi

S=$SCRATCH/slurm
mkdir -p "$S/state" "$S/spool" "$S/munge"
chmod 700 "$S/munge"
export SLURM_CONF=$S/slurm.conf
stop_daemons() {
  local status=$? pid
  squeue -h -o %i 2> /dev/null | xargs -r scancel 2> /dev/null || true
  for f in slurmd slurmctld munge/munged; do
    pid=$(cat "$S/$f.pid" 2> /dev/null || true)
    [ -z "$pid" ] || kill "$pid" 2> /dev/null || true
  done
  sleep 0.5
  for f in slurmd slurmctld munge/munged; do
    pid=$(cat "$S/$f.pid" 2> /dev/null || true)
    [ -z "$pid" ] || kill -9 "$pid" 2> /dev/null || true
  done
  rm -rf "$SCRATCH"
  exit "$status"
}
trap stop_daemons EXIT
trap 'exit 130' INT TERM

# munged insists on a private key file; --force accepts the world-writable /tmp above the folder.
head -c 1024 /dev/urandom > "$S/munge/munge.key"
chmod 600 "$S/munge/munge.key"
munged --force --socket="$S/munge/socket" --key-file="$S/munge/munge.key" --log-file="$S/munge/log" \
  --pid-file="$S/munge/munged.pid" --seed-file="$S/munge/seed" 2> "$S/munged.err" ||
  skip "munged cannot start: $(head -1 "$S/munged.err")"

# Two free TCP ports for slurmctld and slurmd, away from SLURM's defaults so a real installation is untouched.
free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 20000))
    ss -ltnH "sport = :$p" 2> /dev/null | grep -q . || { echo "$p"; return; }
  done
  echo 26817
}
ctld_port=$(free_port) slurmd_port=$(free_port)
node=$(hostname -s)
cat > "$SLURM_CONF" << EOF
# One node (this host) with 2 CPUs; no cgroups (containers often lack them), no accounting database.
ClusterName=swiftclip-test
SlurmctldHost=$node(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmdPort=$slurmd_port
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$S/munge/socket
SlurmUser=$(id -un)
SlurmdUser=root
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldPidFile=$S/slurmctld.pid
SlurmdPidFile=$S/slurmd.pid
SlurmctldLogFile=$S/slurmctld.log
SlurmdLogFile=$S/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
KillWait=5
MinJobAge=600
NodeName=$node NodeAddr=127.0.0.1 CPUs=2 State=UNKNOWN
PartitionName=swiftclip Nodes=$node Default=YES MaxTime=INFINITE State=UP
EOF
slurmctld -f "$SLURM_CONF" 2> "$S/slurmctld.err" || skip "slurmctld cannot start: $(head -1 "$S/slurmctld.err")"
slurmd -f "$SLURM_CONF" 2> "$S/slurmd.err" || skip "slurmd cannot start: $(head -1 "$S/slurmd.err")"
for _ in $(seq 1 100); do
  sinfo -h -o %t 2> /dev/null | grep -qx idle && break
  sleep 0.2
done
sinfo -h -o %t 2> /dev/null | grep -qx idle ||
  skip "the SLURM node did not become idle: $(tail -1 "$S/slurmd.log" 2> /dev/null) / $(tail -1 "$S/slurmctld.log" 2> /dev/null)"
echo "slurm: slurmctld (port $ctld_port) and slurmd (port $slurmd_port) up on $node; $(sinfo -V)"

STEPS=120
flags=(--max-steps $STEPS --batch-size 8 --save-every-steps 10 --logs "$SCRATCH" --log-every-n-steps 1 --val-frequency 1000)
# submit NAME [sbatch flags] -- [train flags]: 2 tasks on the one node, 1 CPU each (the template asks for more).
submit() {
  local name=$1; shift
  local sb=()
  while [ $# -gt 0 ] && [ "$1" != -- ]; do sb+=("$1"); shift; done
  shift
  sbatch --parsable --nodes=1 --ntasks-per-node=2 --cpus-per-task=1 --time=10 --output="$SCRATCH/$name.out" \
    ${sb[@]+"${sb[@]}"} launch/slurm.sbatch cluster-configs/clip-tiny.yaml "${flags[@]}" --name "$name" "$@"
}
job_state() { scontrol show job "$1" 2> /dev/null | grep -o 'JobState=[A-Z_]*' | cut -d= -f2; }
wait_job() {  # wait_job ID SECONDS: until the job has left the queue
  for _ in $(seq 1 $(($2 * 5))); do
    case "$(job_state "$1")" in PENDING|RUNNING|CONFIGURING|COMPLETING|SUSPENDED) sleep 0.2 ;; *) return 0 ;; esac
  done
  fail "job $1 still $(job_state "$1") after $2 s"
}
last_step() { grep -Eo '"step": ?[0-9]+' "$1" | tail -n 1 | grep -Eo '[0-9]+$'; }

# 1. Uninterrupted.
full=$(submit full --)
wait_job "$full" 90
[ "$(job_state "$full")" = COMPLETED ] || { cat "$SCRATCH/full.out"; fail "job $full ended $(job_state "$full")"; }
grep -q "on 2 rank(s)" "$SCRATCH/full.out" || { cat "$SCRATCH/full.out"; fail "job $full did not train on 2 ranks"; }
[ -f "$SCRATCH/full/checkpoints/step-00000120.sclip" ] || fail "job $full wrote no step-120 checkpoint"
"$SWIFTCLIP" checkpoint verify "$SCRATCH/full/checkpoints/step-00000120.sclip" > /dev/null

# 2. Cancelled mid-run, then resumed.
cut=$(submit cut --)
for _ in $(seq 1 600); do
  step=$(last_step "$SCRATCH/cut/results.jsonl" 2> /dev/null || true)
  if [ "${step:-0}" -ge 25 ] && compgen -G "$SCRATCH/cut/checkpoints/step-*.sclip" > /dev/null; then break; fi
  [ -n "$(job_state "$cut" | grep -E 'PENDING|RUNNING|CONFIGURING')" ] || break
  sleep 0.05
done
scancel "$cut"
wait_job "$cut" 30
cut_state=$(job_state "$cut") cut_step=$(last_step "$SCRATCH/cut/results.jsonl" || echo 0)
cut_lines=$(grep -c '"step"' "$SCRATCH/cut/results.jsonl" || echo 0)
[ "$cut_state" = CANCELLED ] || { cat "$SCRATCH/cut.out"; fail "job $cut ended $cut_state, not CANCELLED"; }
[ "$cut_step" -lt $STEPS ] || fail "job $cut finished all $STEPS steps before scancel"
echo "slurm: scancel'ed job $cut after step $cut_step; checkpoints: $(ls "$SCRATCH/cut/checkpoints" | tr '\n' ' ')"

resumed=$(SWIFTCLIP_LAUNCHER=srun submit cut -- --resume latest)
wait_job "$resumed" 90
[ "$(job_state "$resumed")" = COMPLETED ] || { cat "$SCRATCH/cut.out"; fail "resumed job $resumed ended $(job_state "$resumed")"; }
grep -q "^srun --mpi=pmix" "$SCRATCH/cut.out" || fail "the resumed job did not launch with srun"
from=$(grep -Eo 'resuming from .*step-0*[0-9]+\.sclip at step [0-9]+' "$SCRATCH/cut.out" | head -1)
[ -n "$from" ] || { cat "$SCRATCH/cut.out"; fail "the resumed job did not resume from a checkpoint"; }
from_step=${from##* }
[ "$from_step" -ge 10 ] && [ "$from_step" -le "$cut_step" ] || fail "resumed from step $from_step, cancelled at $cut_step"
# results.jsonl: the resumed job's first logged step is the one after its checkpoint.
first_after=$(grep '"step"' "$SCRATCH/cut/results.jsonl" | sed -n "$((cut_lines + 1))p" | grep -Eo '"step": ?[0-9]+' | grep -Eo '[0-9]+$')
[ "$first_after" = $((from_step + 1)) ] || fail "after the cancel, results.jsonl continues at step ${first_after:-?}, expected $((from_step + 1))"
"$SWIFTCLIP" compare "$SCRATCH/full/checkpoints" "$SCRATCH/cut/checkpoints" --exact
echo "slurm: sbatch runs pass: cancelled at step $cut_step, resumed (srun --mpi=pmix) from step $from_step, final parameters bit-identical to the uninterrupted job; $((SECONDS - started))s"
