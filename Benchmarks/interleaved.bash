# Sourced by the benchmarks that compare two settings of the same training step: `swiftclip bench-step` on clip-bench
# (batch 128, 1 rank x 1 BLAS thread, random data) run alternately A, B, A, B, ..., A, so the machine's drift (15-25 %
# over minutes) hits both alike. `interleave PAIRS "A settings" "B settings"` sets A_RATES / B_RATES (samples/s of each
# run), A_RSS / B_RSS (peak RSS MB, the largest of the runs), A_JSON / B_JSON (the last run's JSON line) and SPEED_RATIO:
# the mean over the B runs of B's samples/s over the mean of the A runs right before and after it.
source launch/build-env
swift build "${SWIFT_BUILD_FLAGS[@]}" --product swiftclip 2>&1 | grep -E "error" >&2 || true
BIN=.build/release/swiftclip
STEPS=${STEPS:-3}
field() { local v; v=$(grep -o "\"$2\": *[0-9.eE+-]*" <<<"$1" | head -1 | sed 's/.*: *//'); echo "${v:-null}"; }
bench_step() { # bench_step LABEL SETTINGS...: one run; its JSON line
  local label=$1 out; shift
  out=$(OPENBLAS_NUM_THREADS=1 "$BIN" bench-step --model clip-bench --batch-size 128 --steps "$STEPS" --warmup 1 --json -- "$@")
  echo "$out" | grep -v '^{' | sed "s/^/$label: /" >&2
  echo "$out" | grep '^{' | tail -1
}
larger() { awk -v a="$1" -v b="$2" 'BEGIN { print (a == "" || b > a) ? b : a }'; }
interleave() {
  local pairs=$1 a_settings=$2 b_settings=$3 r i
  local -a a_flags b_flags
  read -r -a a_flags <<<"$a_settings"; read -r -a b_flags <<<"$b_settings"
  A_RATES=(); B_RATES=(); A_RSS=""; B_RSS=""
  A_JSON=$(bench_step "A ($a_settings)" "${a_flags[@]}"); A_RATES+=("$(field "$A_JSON" samples_per_s)"); A_RSS=$(larger "$A_RSS" "$(field "$A_JSON" peak_rss_mb)")
  for i in $(seq "$pairs"); do
    B_JSON=$(bench_step "B ($b_settings)" "${b_flags[@]}"); B_RATES+=("$(field "$B_JSON" samples_per_s)"); B_RSS=$(larger "$B_RSS" "$(field "$B_JSON" peak_rss_mb)")
    A_JSON=$(bench_step "A ($a_settings)" "${a_flags[@]}"); A_RATES+=("$(field "$A_JSON" samples_per_s)"); A_RSS=$(larger "$A_RSS" "$(field "$A_JSON" peak_rss_mb)")
  done
  SPEED_RATIO=$(awk -v l="${A_RATES[*]}" -v d="${B_RATES[*]}" 'BEGIN {
    n = split(d, q, " "); split(l, a, " "); s = 0
    for (i = 1; i <= n; i++) s += q[i] / ((a[i] + a[i + 1]) / 2)
    printf "%.3f", s / n }')
}
