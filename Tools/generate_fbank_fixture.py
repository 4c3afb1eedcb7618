#!/usr/bin/env python3
"""Writes Tests/Fixtures/audio-fbank: real waveforms (espeak-ng speech, sox tones and noise; WAV and FLAC, mono and
stereo, 16, 22.05, 44.1 and 48 kHz) with torchaudio's decoding-independent reference values for the Audio module's tests.

Run in the venv of Benchmarks/torchaudio/setup.sh (torch 2.13.0+cpu, torchaudio 2.11.1; needs espeak-ng and sox):
    Benchmarks/torchaudio/setup.sh && /opt/audio-venv/bin/python Tools/generate_fbank_fixture.py

Per clip (index.json lists them; arrays are raw little-endian float32):
  decoded        frames, channels, rate and checksums of the PCM decoded independently of libsndfile (WAV by Python's
                 wave module, FLAC by sox's libFLAC), as int / 32768
  resampled.f32  the mono mix-down (channel mean) resampled to 16 kHz by torchaudio.functional.resample (defaults:
                 sinc_interp_hann, lowpass_filter_width 6, rolloff 0.99) in float64, stored as float32: the fbank input
  fbank.f32      torchaudio.compliance.kaldi.fbank with ImageBind's arguments on that waveform minus its mean, in float64
  fbank_torch_f32.f32  the same in float32 (torch's usual path), to show how far float32 itself strays
"""
import json
import os
import subprocess
import tempfile
import wave

import numpy as np
import torch
import torchaudio
import torchaudio.compliance.kaldi as kaldi
import torchaudio.functional as F

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "Tests", "Fixtures", "audio-fbank")
RATE = 16000
FBANK_ARGS = dict(htk_compat=True, sample_frequency=RATE, use_energy=False, window_type="hanning", num_mel_bins=128,
                  dither=0.0, frame_length=25, frame_shift=10)


def run(*args):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def speak(path, text, voice, speed, pitch, seconds):
    """espeak-ng at its native 22050 Hz, trimmed to `seconds`."""
    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, "raw.wav")
        run("espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-w", raw, text)
        run("sox", "-R", raw, path, "trim", "0", str(seconds))


def make_inputs(tmp):
    """The clips: name -> path in OUT."""
    clips = {}
    p = os.path.join(OUT, "speech-22050.wav")
    speak(p, "The quick brown fox jumps over the lazy dog.", "en-us", 175, 50, 2.0)
    clips["speech-22050.wav"] = p

    # Stereo FLAC at 44.1 kHz: a second voice on the left, a chord in pink noise on the right.
    voice = os.path.join(tmp, "voice.wav")
    speak(voice, "A pale violet sky over seven quiet hills.", "en+f3", 140, 70, 1.5)
    left = os.path.join(tmp, "left.wav")
    run("sox", "-R", voice, "-r", "44100", left, "rate", "-v")
    right = os.path.join(tmp, "right.wav")
    run("sox", "-R", "-n", "-r", "44100", "-b", "16", right, "synth", "1.5", "sine", "330", "sine", "495", "pinknoise",
        "remix", "-", "vol", "0.3")
    p = os.path.join(OUT, "voice-chord-44100-stereo.flac")
    run("sox", "-R", "-M", left, right, "-b", "16", p)
    clips["voice-chord-44100-stereo.flac"] = p

    # 48 kHz: a chirp from 100 Hz to 20 kHz (above the 8 kHz cut-off, so the anti-alias filter matters).
    p = os.path.join(OUT, "chirp-48000.wav")
    run("sox", "-R", "-n", "-r", "48000", "-b", "16", p, "synth", "1.0", "sine", "100-20000", "vol", "0.5")
    clips["chirp-48000.wav"] = p

    # 16 kHz (no resampling): a tone in white noise with silence at the end (log-energy floor).
    p = os.path.join(OUT, "tone-noise-16000.wav")
    run("sox", "-R", "-n", "-r", "16000", "-b", "16", p, "synth", "0.8", "sine", "1000", "whitenoise", "remix", "-",
        "vol", "0.4", "pad", "0", "0.2")
    clips["tone-noise-16000.wav"] = p
    return clips


def decode_reference(path):
    """int16 PCM as float32 / 32768, interleaved, without libsndfile."""
    if path.endswith(".wav"):
        with wave.open(path) as w:
            assert w.getsampwidth() == 2
            rate, channels = w.getframerate(), w.getnchannels()
            pcm = np.frombuffer(w.readframes(w.getnframes()), dtype="<i2")
    else:
        info = subprocess.run(["soxi", "-r", path], check=True, capture_output=True, text=True).stdout
        rate = int(info.strip())
        channels = int(subprocess.run(["soxi", "-c", path], check=True, capture_output=True, text=True).stdout.strip())
        raw = subprocess.run(["sox", path, "-t", "raw", "-e", "signed", "-b", "16", "-L", "-"], check=True,
                             capture_output=True).stdout
        pcm = np.frombuffer(raw, dtype="<i2")
    samples = pcm.astype(np.float32) / np.float32(32768)
    return rate, channels, samples


def checksums(samples):
    x = samples.astype(np.float64)
    weights = (np.arange(x.size) % 1000).astype(np.float64)
    return dict(sum=float(x.sum()), sum_abs=float(np.abs(x).sum()), weighted_sum=float((x * weights).sum()),
                head=[float(v) for v in samples[:32]])


def fbank(waveform32, dtype):
    w = torch.from_numpy(waveform32).to(dtype)[None]
    w = w - w.mean()
    return kaldi.fbank(w, **FBANK_ARGS)


def main():
    os.makedirs(OUT, exist_ok=True)
    index = dict(torch=torch.__version__, torchaudio=torchaudio.__version__, target_rate=RATE, fbank_args=FBANK_ARGS,
                 clips=[])
    with tempfile.TemporaryDirectory() as tmp:
        clips = make_inputs(tmp)
    for name, path in clips.items():
        rate, channels, interleaved = decode_reference(path)
        mono = interleaved.reshape(-1, channels).mean(axis=1, dtype=np.float32) if channels > 1 else interleaved
        stem = os.path.splitext(name)[0]
        entry = dict(file=name, sample_rate=rate, channels=channels, frames=int(interleaved.size // channels),
                     decoded=checksums(interleaved))
        x = torch.from_numpy(mono)[None]
        if rate != RATE:
            resampled = F.resample(x.double(), rate, RATE)[0].float().numpy()
            torch32 = F.resample(x, rate, RATE)[0].numpy()
            resampled.astype("<f4").tofile(os.path.join(OUT, f"{stem}.resampled.f32"))
            entry["resampled"] = f"{stem}.resampled.f32"
            entry["resampled_count"] = int(resampled.size)
            entry["torch_f32_resample_max_abs_diff"] = float(np.abs(torch32.astype(np.float64) - resampled).max())
        else:
            resampled = mono
        f64 = fbank(resampled, torch.float64).numpy()
        f32 = fbank(resampled, torch.float32).numpy()
        f64.astype("<f4").tofile(os.path.join(OUT, f"{stem}.fbank.f32"))
        f32.astype("<f4").tofile(os.path.join(OUT, f"{stem}.fbank_torch_f32.f32"))
        entry.update(fbank=f"{stem}.fbank.f32", fbank_torch_f32=f"{stem}.fbank_torch_f32.f32",
                     fbank_frames=int(f64.shape[0]), mel_bins=int(f64.shape[1]),
                     torch_f32_fbank_max_abs_diff=float(np.abs(f32.astype(np.float64) - f64).max()))
        index["clips"].append(entry)
        print(name, rate, channels, entry["frames"], "->", f64.shape, "torch f32 vs f64:",
              entry["torch_f32_fbank_max_abs_diff"])
    with open(os.path.join(OUT, "index.json"), "w") as f:
        json.dump(index, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
