#!/usr/bin/python3
"""Checks that the committed audio arrays are what the documented MFCC recipe gives.

Recomputes the MFCC of the 300 FSDD test recordings from the WAV files with train.py's front end and the
standardisation constants in frontend.json, and compares with audio_only.test.npz row by row (file-name
order). Also checks properties a device port relies on: the DCT rows are orthonormal, every mel filter
covers FFT bins, the frame count matches the signal length.

    /usr/bin/python3 examples/av-digits/check_frontend.py      (exit 0 = all good)
"""
import json
import os
import sys
import wave
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import train  # noqa: E402  (the front end lives there)


def main() -> int:
    failures = []
    front = json.loads((HERE / 'frontend.json').read_text())
    mean = np.array(front['mean'])[:, None]
    std = np.array(front['std'])[:, None]

    dct_gram = train.DCT @ train.DCT.T
    if not np.allclose(dct_gram, np.eye(train.N_MFCC), atol=1e-12):
        failures.append('DCT-II rows are not orthonormal')
    if train.FILTERBANK.shape != (train.N_MELS, train.N_FFT // 2 + 1) or (train.FILTERBANK.sum(axis=1) <= 0).any():
        failures.append(f'mel filterbank shape {train.FILTERBANK.shape} or an empty filter')
    if (train.SIGNAL_LENGTH - train.WIN_LENGTH) // train.HOP_LENGTH + 1 != train.N_FRAMES:
        failures.append('SIGNAL_LENGTH does not give exactly N_FRAMES frames')
    for key in ('sample_rate', 'win_length', 'hop_length', 'n_fft', 'n_frames', 'n_mels', 'n_mfcc', 'log_floor'):
        if front[key] != getattr(train, key.upper()):
            failures.append(f'frontend.json {key}={front[key]} but train.py has {getattr(train, key.upper())}')

    stored = np.load(HERE / 'audio_only.test.npz')
    rec_dir = train.DATASETS / 'fsdd' / 'recordings'
    names = sorted(n for n in os.listdir(rec_dir) if n.endswith('.wav') and int(n[:-4].split('_')[2]) < 5)
    if len(names) != stored['audio'].shape[0]:
        failures.append(f'{len(names)} test recordings but audio_only.test.npz has {stored["audio"].shape[0]} rows')
    worst = 0.0
    for i, name in enumerate(names):
        with wave.open(str(rec_dir / name), 'rb') as w:
            pcm = np.frombuffer(w.readframes(w.getnframes()), dtype='<i2')
        audio = (train.mfcc_raw(pcm) - mean) / std
        worst = max(worst, float(np.abs(audio - stored['audio'][i, 0]).max()))
        if stored['labels'][i] != int(name[0]):
            failures.append(f'row {i}: label {stored["labels"][i]} but file {name}')
    if worst > 1e-5:
        failures.append(f'recomputed MFCCs differ from audio_only.test.npz by up to {worst:.3g}')

    print(f'{len(names)} recordings recomputed, largest difference {worst:.3g} (float32 storage)')
    for f in failures:
        print('FAIL', f)
    return 1 if failures else 0


if __name__ == '__main__':
    sys.exit(main())
