#!/usr/bin/env bash
# Our resampler and Kaldi filter bank (Audio module) against torchaudio 2.11.1's (torch 2.13.0+cpu) on one core, on the
# same espeak-ng speech: resampling 22050 -> 16000 Hz and kaldi.fbank with ImageBind's arguments on the result.
# Usage: Benchmarks/fbank.sh [--json]   Environment: ROUNDS (default 5) alternating rounds, REPS (default 20) timed
# passes per round and side, SECONDS_OF_SPEECH (default 10).
set -euo pipefail
cd "$(dirname "$0")/.."
json=0; [ "${1:-}" = "--json" ] && json=1
ROUNDS=${ROUNDS:-5}; REPS=${REPS:-20}; SECONDS_OF_SPEECH=${SECONDS_OF_SPEECH:-10}
command -v espeak-ng >/dev/null && command -v sox >/dev/null || { echo "fbank benchmark: needs espeak-ng and sox (apt-get install -y espeak-ng sox)" >&2; exit 1; }
Benchmarks/torchaudio/setup.sh >&2
VENV=${TORCHAUDIO_VENV:-/opt/audio-venv}
source launch/build-env
swift build "${SWIFT_BUILD_FLAGS[@]}" --product swiftclip-bench >&2
bench="$(swift build "${SWIFT_BUILD_FLAGS[@]}" --show-bin-path)/swiftclip-bench"

work=$(mktemp -d /tmp/fbank-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT
espeak-ng -v en-us -w "$work/speech.wav" "Sound carries meaning that pictures alone cannot hold. \
A dog barks in the distance while rain falls softly on the roof, and a train passes by the old station. \
Seven quiet hills rise under a pale violet sky, and the river runs on towards the sea."
sox -R "$work/speech.wav" "$work/clip.wav" repeat 5 trim 0 "$SECONDS_OF_SPEECH"

export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
ours=(); theirs=()
for round in $(seq 1 "$ROUNDS"); do
  # Alternate which side goes first, so drift of the machine affects both alike.
  if [ $((round % 2)) -eq 1 ]; then
    theirs+=("$("$VENV/bin/python" Benchmarks/torchaudio/fbank.py "$work/clip.wav" "$REPS")")
    ours+=("$("$bench" fbank "$work/clip.wav" "$REPS")")
  else
    ours+=("$("$bench" fbank "$work/clip.wav" "$REPS")")
    theirs+=("$("$VENV/bin/python" Benchmarks/torchaudio/fbank.py "$work/clip.wav" "$REPS")")
  fi
done

python3 - "$json" "${#ours[@]}" "${ours[@]}" "${theirs[@]}" <<'PY'
import json, statistics, sys
as_json, n = sys.argv[1] == "1", int(sys.argv[2])
ours = [json.loads(s) for s in sys.argv[3:3 + n]]
theirs = [json.loads(s) for s in sys.argv[3 + n:3 + 2 * n]]
assert all(o["frames"] == t["frames"] and o["samples"] == t["samples"] for o, t in zip(ours, theirs)), "sides disagree on the input"
med = lambda rows, key: statistics.median(r[key] for r in rows)
result = dict(
    fbank_vs_torchaudio_1t=med(theirs, "fbank_ms") / med(ours, "fbank_ms"),
    resample_vs_torchaudio_1t=med(theirs, "resample_ms") / med(ours, "resample_ms"),
    fbank_ms=med(ours, "fbank_ms"), torchaudio_fbank_ms=med(theirs, "fbank_ms"),
    resample_ms=med(ours, "resample_ms"), torchaudio_resample_ms=med(theirs, "resample_ms"),
    frames=ours[0]["frames"], seconds=ours[0]["samples"] / 22050, rounds=n,
    per_round_fbank_ratio=[round(t["fbank_ms"] / o["fbank_ms"], 3) for o, t in zip(ours, theirs)])
print(f"{result['seconds']:.1f} s of speech at 22050 Hz, {result['frames']} frames; medians of {n} interleaved rounds, one thread")
print(f"{'':24}{'ours ms':>10}{'torchaudio ms':>15}{'speed-up':>10}")
print(f"{'resample 22.05->16 kHz':24}{result['resample_ms']:>10.2f}{result['torchaudio_resample_ms']:>15.2f}{result['resample_vs_torchaudio_1t']:>10.2f}")
print(f"{'kaldi fbank (128 mel)':24}{result['fbank_ms']:>10.2f}{result['torchaudio_fbank_ms']:>15.2f}{result['fbank_vs_torchaudio_1t']:>10.2f}")
if as_json:
    print(json.dumps(result))
PY
