#!/usr/bin/env python3
"""torchaudio's side of Benchmarks/fbank.sh: times resample (22050 -> 16000 Hz) and kaldi.fbank with ImageBind's
arguments on one WAV, on one thread. Usage: fbank.py WAV REPS; prints one JSON object (median milliseconds)."""
import json
import os
import statistics
import sys
import time
import wave

os.environ.setdefault("OMP_NUM_THREADS", "1")
import numpy as np
import torch
import torchaudio.compliance.kaldi as kaldi
import torchaudio.functional as F

torch.set_num_threads(1)
path, reps = sys.argv[1], int(sys.argv[2])
with wave.open(path) as w:
    rate = w.getframerate()
    x = torch.from_numpy(np.frombuffer(w.readframes(w.getnframes()), dtype="<i2").astype(np.float32) / 32768)[None]


def fbank(waveform):
    waveform = waveform - waveform.mean()
    return kaldi.fbank(waveform, htk_compat=True, sample_frequency=16000, use_energy=False, window_type="hanning",
                       num_mel_bins=128, dither=0.0, frame_length=25, frame_shift=10)


def median_ms(body):
    body()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        body()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


resampled = F.resample(x, rate, 16000)
print(json.dumps(dict(resample_ms=median_ms(lambda: F.resample(x, rate, 16000)), fbank_ms=median_ms(lambda: fbank(resampled)),
                      frames=int(fbank(resampled).shape[0]), samples=int(x.shape[1]))))
