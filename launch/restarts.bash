# Sourced by launch/train for --max-restarts N: runs the composed mpirun command and, when it fails (a rank or a
# host died), relaunches it with --resume latest, up to N times. Before each relaunch every other host is checked
# with Open MPI's own remote agent (plm_rsh_agent from mpirun-args, else ssh); hosts that no longer answer are
# dropped and the per-rank batch is scaled so the global batch stays the same (the run resumes on the smaller
# world size). Uses launch/train's variables: cmd, extra, words, hosts_arg, hostfile, nodes, ranks_per_node,
# recipe, max_restarts, and its compose function.

restart_log() { echo "launch/train: $*" >&2; }

# The command Open MPI reaches other hosts with: "AGENT HOST COMMAND" runs COMMAND there.
remote_agent() {
  local i
  for ((i = 0; i + 1 < ${#words[@]}; i++)); do
    [ "${words[i]}" != plm_rsh_agent ] || { echo "${words[i + 1]}"; return; }
  done
  echo "${OMPI_MCA_plm_rsh_agent:-ssh -o BatchMode=yes -o ConnectTimeout=10}"
}

is_this_machine() {
  case "$1" in localhost|127.*|::1|"$(hostname)"|"$(hostname -s)"|"$(hostname -f 2> /dev/null)") return 0 ;; esac
  [[ " $(hostname -I 2> /dev/null) " == *" $1 "* ]]
}

current_hosts() {  # one name per line
  if [ -n "$hosts_arg" ]; then tr ',' '\n' <<< "$hosts_arg" | cut -d: -f1
  elif [ -n "$hostfile" ]; then awk '{ sub(/#.*/, "") } NF && !seen[$1]++ { print $1 }' "$hostfile"
  fi
}

# Removes hosts that do not answer the agent from hosts_arg or hostfile and nodes; sets lost_hosts to their names.
drop_unreachable_hosts() {
  local agent host index=0 first dropped=() kept=()
  lost_hosts=""
  agent=$(remote_agent)
  while read -r host; do
    if is_this_machine "$host" || timeout 30 $agent "$host" true < /dev/null > /dev/null 2>&1; then kept+=("$host")
    else
      dropped+=("$host")
      # One line per lost host naming its ranks: with the default placement (ppr:R:node) host i ran ranks i*R..
      first=$((index * ranks_per_node))
      if [[ "$map_by" == "ppr:$ranks_per_node:node"* ]]; then
        restart_log "lost host $host (rank(s) $first$([ "$ranks_per_node" -eq 1 ] || echo "-$((first + ranks_per_node - 1))")): it does not answer $agent"
      else
        restart_log "lost host $host: it does not answer $agent"
      fi
    fi
    index=$((index + 1))
  done < <(current_hosts)
  [ ${#dropped[@]} -gt 0 ] || return 0
  lost_hosts=${dropped[*]}
  if [ ${#kept[@]} -eq 0 ]; then nodes=0; return 0; fi
  if [ -n "$hosts_arg" ]; then
    hosts_arg=$(tr ',' '\n' <<< "$hosts_arg" | awk -v drop=" ${dropped[*]} " '{ split($0, f, ":") } index(drop, " " f[1] " ") == 0' | paste -sd,)
  else
    local remaining
    remaining=$(mktemp "${TMPDIR:-/tmp}/swiftclip-hosts.XXXXXX")
    awk -v drop=" ${dropped[*]} " '{ line = $0; sub(/#.*/, "") } NF == 0 || index(drop, " " $1 " ") == 0 { print line }' \
      "$hostfile" > "$remaining"
    # The previous restart's file (the one just read), not the user's hostfile.
    [ -z "${restart_hostfile:-}" ] || rm -f "$restart_hostfile"
    restart_hostfile=$remaining hostfile=$remaining
  fi
  nodes=${#kept[@]}
}

# The per-rank batch this run uses: the last --batch-size in the train flags, else the recipe's batch-size.
per_rank_batch() {
  local i b=""
  for ((i = 0; i < ${#extra[@]}; i++)); do
    case "${extra[i]}" in
      --batch-size) b=${extra[i + 1]:-} ;;
      --batch-size=*) b=${extra[i]#*=} ;;
    esac
  done
  [ -n "$b" ] || b=$(awk '/^batch-size:/ { sub(/^batch-size:[ \t]*/, ""); sub(/[ \t]*#.*/, ""); print; exit }' "$recipe")
  echo "$b"
}

# Replaces FLAG's value in the train flags (or adds it).
set_train_flag() {
  local flag=$1 value=$2 i kept=()
  for ((i = 0; i < ${#extra[@]}; i++)); do
    case "${extra[i]}" in
      "$flag") i=$((i + 1)) ;;
      "$flag"=*) ;;
      *) kept+=("${extra[i]}") ;;
    esac
  done
  extra=(${kept[@]+"${kept[@]}"} "$flag" "$value")
}

run_with_restarts() {
  local restarts=0 status started child interrupted=0 old_ranks batch note
  trap '[ -z "${restart_hostfile:-}" ] || rm -f "$restart_hostfile"' EXIT
  trap 'interrupted=1; [ -z "${child:-}" ] || kill -TERM "$child" 2> /dev/null' INT TERM
  while :; do
    started=$SECONDS
    "${cmd[@]}" &
    child=$!
    status=0; wait "$child" || status=$?
    while [ "$interrupted" = 1 ] && kill -0 "$child" 2> /dev/null; do status=0; wait "$child" || status=$?; done
    child=""
    if [ "$status" -eq 0 ]; then
      [ "$restarts" -eq 0 ] || restart_log "finished after $restarts restart(s)"
      return 0
    fi
    [ "$interrupted" = 0 ] || { restart_log "interrupted; not restarting"; exit "$status"; }
    if [ "$restarts" -ge "$max_restarts" ]; then
      restart_log "mpirun exited with status $status after $((SECONDS - started)) s; no restarts left (--max-restarts $max_restarts)"
      exit "$status"
    fi
    restarts=$((restarts + 1))
    old_ranks=$((ranks_per_node * nodes))
    drop_unreachable_hosts
    [ "$nodes" -gt 0 ] || { restart_log "no host answers any more (lost: $lost_hosts); giving up"; exit "$status"; }
    note=""
    if [ -n "$lost_hosts" ]; then
      batch=$(per_rank_batch)
      [[ "$batch" =~ ^[1-9][0-9]*$ ]] || { restart_log "lost $lost_hosts but the per-rank batch is unknown (give --batch-size) so the global batch cannot be kept; giving up"; exit "$status"; }
      if [ $((batch * old_ranks % (ranks_per_node * nodes))) -ne 0 ]; then
        restart_log "lost $lost_hosts: the global batch $((batch * old_ranks)) does not split over $((ranks_per_node * nodes)) ranks; giving up"
        exit "$status"
      fi
      set_train_flag --batch-size $((batch * old_ranks / (ranks_per_node * nodes)))
      note=", without $lost_hosts (no answer), --batch-size $((batch * old_ranks / (ranks_per_node * nodes))) keeps the global batch $((batch * old_ranks))"
    fi
    set_train_flag --resume latest
    compose
    restart_log "restart $restarts of $max_restarts: mpirun exited with status $status after $((SECONDS - started)) s; relaunching with --resume latest on $((ranks_per_node * nodes)) rank(s)$note"
    echo "$line" >&2
  done
}
