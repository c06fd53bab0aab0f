#!/usr/bin/python3
"""kws-fsdd: the MLPerf-Tiny keyword-spotting DS-CNN shape trained on Free Spoken Digit recordings.

A model that quantization hurts, on real data: spoken digits 0-9 (FSDD, 8 kHz) as 49x10 MFCC maps,
the MLPerf-Tiny KWS reference network (conv 10x4 stride 2 with 64 channels, four depthwise-separable
blocks, average pool, dense), and a held-out speaker split, so the test rows come from voices the
network never heard.

Run from anywhere (CPU, one thread, a few minutes; nice it on a shared machine):
    nice /usr/bin/python3 examples/kws-fsdd/train.py

Writes next to this script: model.onnx, calib.npz, test.npz, frontend.json, metrics.json, train.log.
Everything is seeded. The MFCC recipe below is the exact definition a device front end must match.
numpy only for the front end (no torchaudio here), so every constant is visible.
"""
from __future__ import annotations

import argparse
import json
import os
import time
import wave
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
# ../shared next to the checkout (/work/main -> /work/shared); --datasets for a worktree elsewhere.
DATASETS = (HERE / '../../../shared/datasets').resolve()
SEED = 20261

# ---------------------------------------------------------------------------------------------
# Audio front end: MLPerf-Tiny KWS timing (40 ms window, 20 ms hop, 1 s clip -> 49 frames,
# 40 mel bands, 10 MFCC) at FSDD's 8 kHz.
# ---------------------------------------------------------------------------------------------
SAMPLE_RATE = 8000          # FSDD is 8 kHz mono int16; no resampling
PCM_SCALE = 1.0 / 32768.0   # int16 -> float in [-1, 1)
WIN_LENGTH = 320            # 40 ms analysis window
HOP_LENGTH = 160            # 20 ms between frame starts
N_FFT = 512                 # the 320-sample frame zero-padded to 512 for the FFT
N_FRAMES = 49
SIGNAL_LENGTH = WIN_LENGTH + (N_FRAMES - 1) * HOP_LENGTH  # 8000 samples = 1.000 s
N_MELS = 40
MEL_FMIN = 20.0
MEL_FMAX = 4000.0           # Nyquist
LOG_FLOOR = 1e-6            # natural log of max(mel energy, LOG_FLOOR)
N_MFCC = 10                 # DCT-II (orthonormal) coefficients 0..9, c0 included

# Held-out speakers: their recordings are only in test.npz. The other four train the network;
# their recordings with index 0-4 (FSDD's official test indices) are kept out of training and
# form calib.npz, so the planner's sensitivity rows are rows the network was not fitted on.
TEST_SPEAKERS = ('theo', 'yweweler')
SPEAKERS = ('george', 'jackson', 'lucas', 'nicolas', 'theo', 'yweweler')


def hann_periodic(n: int) -> np.ndarray:
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)


def hz_to_mel(f):
    """HTK mel scale."""
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def mel_to_hz(m):
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank() -> np.ndarray:
    """[N_MELS, N_FFT/2+1] triangular filters, peak 1, edges equally spaced in HTK mel."""
    edges = mel_to_hz(np.linspace(hz_to_mel(MEL_FMIN), hz_to_mel(MEL_FMAX), N_MELS + 2))
    bins = np.arange(N_FFT // 2 + 1) * SAMPLE_RATE / N_FFT
    fb = np.zeros((N_MELS, bins.size))
    for m in range(N_MELS):
        lo, mid, hi = edges[m], edges[m + 1], edges[m + 2]
        fb[m] = np.maximum(0.0, np.minimum((bins - lo) / (mid - lo), (hi - bins) / (hi - mid)))
    assert (fb.sum(axis=1) > 0).all(), 'a mel filter covers no FFT bin'
    return fb


def dct2_ortho(n_in: int, n_out: int) -> np.ndarray:
    k = np.arange(n_out)[:, None]
    m = np.arange(n_in)[None, :]
    d = np.cos(np.pi * k * (m + 0.5) / n_in) * np.sqrt(2.0 / n_in)
    d[0] *= np.sqrt(0.5)
    return d


FILTERBANK = mel_filterbank()
DCT = dct2_ortho(N_MELS, N_MFCC)
WINDOW = hann_periodic(WIN_LENGTH)


def mfcc_raw(pcm: np.ndarray, offset: int = 0) -> np.ndarray:
    """int16 PCM -> un-normalised MFCC [N_FRAMES, N_MFCC] (row = frame, as MLPerf's 49x10).
    The utterance starts `offset` samples into the 1 s clip (0 on the device: FSDD is trimmed of
    leading silence); the clip is cut or zero-padded to SIGNAL_LENGTH. No pre-emphasis or dither."""
    x = np.zeros(SIGNAL_LENGTH)
    n = min(pcm.size, SIGNAL_LENGTH - offset)
    x[offset:offset + n] = pcm[:n].astype(np.float64) * PCM_SCALE
    idx = np.arange(N_FRAMES)[:, None] * HOP_LENGTH + np.arange(WIN_LENGTH)[None, :]
    frames = x[idx] * WINDOW
    power = np.abs(np.fft.rfft(frames, n=N_FFT, axis=1)) ** 2
    logmel = np.log(np.maximum(power @ FILTERBANK.T, LOG_FLOOR))
    return logmel @ DCT.T


def load_fsdd(datasets: Path, shifts: tuple[int, ...]):
    """MFCCs of every recording: {'train', 'calib', 'test'} -> (mfcc [N, S, 49, 10], labels, speakers).
    S = len(shifts) copies per recording with the utterance started later in the clip (training
    augmentation); calib / test use shift 0 only."""
    rec_dir = datasets / 'fsdd' / 'recordings'
    out = {s: ([], [], []) for s in ('train', 'calib', 'test')}
    for name in sorted(os.listdir(rec_dir)):
        if not name.endswith('.wav'):
            continue
        digit, speaker, index = name[:-4].split('_')
        with wave.open(str(rec_dir / name), 'rb') as w:
            assert w.getframerate() == SAMPLE_RATE and w.getnchannels() == 1 and w.getsampwidth() == 2
            pcm = np.frombuffer(w.readframes(w.getnframes()), dtype='<i2')
        split = 'test' if speaker in TEST_SPEAKERS else 'calib' if int(index) < 5 else 'train'
        offs = shifts if split == 'train' else (0,)
        out[split][0].append(np.stack([mfcc_raw(pcm, o) for o in offs]))
        out[split][1].append(int(digit))
        out[split][2].append(speaker)
    return {s: (np.stack(m), np.array(l, dtype=np.int64), np.array(sp)) for s, (m, l, sp) in out.items()}


# ---------------------------------------------------------------------------------------------
# Model: MLPerf-Tiny KWS DS-CNN (Zhang et al. 2017, "Hello Edge"; MLPerf Tiny v0.5 reference)
# ---------------------------------------------------------------------------------------------
CHANNELS = 64
N_CLASSES = 10


class DSCNN(nn.Module):
    """conv 10x4 /2 (64) -> 4 x [dw 3x3 + pw 1x1 (64)] -> average pool 25x5 -> dense 64->10.
    Padding (5, 1) on the first conv gives MLPerf's 'same' output 25x5 with symmetric padding."""
    inputs = ('mfcc',)
    outputs = ('logits',)

    def __init__(self, dropout: float = 0.2):
        super().__init__()
        c = CHANNELS
        layers: list[nn.Module] = [nn.Conv2d(1, c, (10, 4), stride=2, padding=(5, 1), bias=False),
                                   nn.BatchNorm2d(c), nn.ReLU(), nn.Dropout(dropout)]
        for _ in range(4):
            layers += [nn.Conv2d(c, c, 3, padding=1, groups=c, bias=False), nn.BatchNorm2d(c), nn.ReLU(),
                       nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU()]
        layers += [nn.Dropout(dropout), nn.AvgPool2d((25, 5)), nn.Flatten()]
        self.body = nn.Sequential(*layers)
        self.head = nn.Linear(c, N_CLASSES)

    def forward(self, mfcc):
        return self.head(self.body(mfcc))


def count_params_and_macs(model: nn.Module) -> dict:
    macs = 0
    deployed = 0

    def hook(mod, inp, out):
        nonlocal macs, deployed
        if isinstance(mod, nn.Conv2d):
            macs += out.numel() // out.shape[0] * (mod.in_channels // mod.groups) * mod.kernel_size[0] * mod.kernel_size[1]
            deployed += mod.weight.numel() + mod.out_channels
        elif isinstance(mod, nn.Linear):
            macs += mod.in_features * mod.out_features
            deployed += mod.weight.numel() + mod.out_features

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, 1, N_FRAMES, N_MFCC))
    for h in handles:
        h.remove()
    return {'macs': int(macs), 'params_trainable': int(sum(p.numel() for p in model.parameters())),
            'params_deployed': int(deployed)}


@torch.no_grad()
def accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    model.eval()
    return float((model(x).argmax(1) == y).float().mean())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--epochs', type=int, default=24)
    ap.add_argument('--batch', type=int, default=64)
    ap.add_argument('--lr', type=float, default=3e-3)
    ap.add_argument('--out', type=Path, default=HERE)
    ap.add_argument('--datasets', type=Path, default=DATASETS, help='folder holding fsdd/recordings')
    args = ap.parse_args()

    torch.set_num_threads(1)  # teammates share the CPU
    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    log_lines: list[str] = []

    def log(msg: str):
        print(msg, flush=True)
        log_lines.append(msg)

    t_start = time.time()
    # Training copies start the utterance 0, 80, 160, 240 ms into the clip.
    shifts = (0, 640, 1280, 1920)
    data = load_fsdd(args.datasets, shifts)
    m_train, y_train, _ = data['train']
    m_calib, y_calib, _ = data['calib']
    m_test, y_test, sp_test = data['test']
    # Per-coefficient standardisation over every frame of the unshifted training clips (padding
    # frames included: the device sees them too).
    mean = m_train[:, 0].mean(axis=(0, 1))
    std = m_train[:, 0].std(axis=(0, 1))

    def norm(m):
        return ((m - mean) / std).astype(np.float32)

    x_train = torch.from_numpy(norm(m_train))[:, :, None]        # [N, S, 1, 49, 10]
    x_calib = torch.from_numpy(norm(m_calib[:, 0]))[:, None]     # [N, 1, 49, 10]
    x_test = torch.from_numpy(norm(m_test[:, 0]))[:, None]
    t_train, t_calib, t_test = (torch.from_numpy(y) for y in (y_train, y_calib, y_test))
    log(f'FSDD: {len(y_train)} train / {len(y_calib)} calib (train speakers, index 0-4, not trained on) / '
        f'{len(y_test)} test (speakers {", ".join(TEST_SPEAKERS)}) recordings, MFCC {tuple(x_calib.shape[1:])} '
        f'({time.time() - t_start:.1f} s)')

    model = DSCNN()
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    n = len(y_train)
    steps = args.epochs * ((n + args.batch - 1) // args.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps, pct_start=0.15)
    gen = torch.Generator().manual_seed(SEED)
    for epoch in range(args.epochs):
        model.train()
        t0 = time.time()
        order = torch.randperm(n, generator=gen)
        shift = torch.randint(len(shifts), (n,), generator=gen)
        total, correct = 0.0, 0
        for s in range(0, n, args.batch):
            idx = order[s:s + args.batch]
            xb = x_train[idx, shift[idx]]
            # Small Gaussian noise on the standardised MFCC: a cheap stand-in for room noise.
            xb = xb + 0.1 * torch.randn(xb.shape, generator=gen)
            out = model(xb)
            loss = F.cross_entropy(out, t_train[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * idx.numel()
            correct += int((out.argmax(1) == t_train[idx]).sum())
        log(f'epoch {epoch + 1}/{args.epochs}: loss {total / n:.4f}  train acc {correct / n:.4f}  '
            f'calib acc {accuracy(model, x_calib, t_calib):.4f}  test acc {accuracy(model, x_test, t_test):.4f}  '
            f'({time.time() - t0:.1f} s)')
    model.eval()
    train_seconds = time.time() - t_start

    per_speaker = {sp: accuracy(model, x_test[torch.from_numpy(sp_test == sp)], t_test[torch.from_numpy(sp_test == sp)])
                   for sp in TEST_SPEAKERS}
    metrics = {
        'test_accuracy': accuracy(model, x_test, t_test),
        'test_accuracy_per_speaker': per_speaker,
        'calib_accuracy': accuracy(model, x_calib, t_calib),
        'train_accuracy_unshifted': accuracy(model, x_train[:, 0], t_train),
        'rows': {'train_recordings': int(n), 'train_copies': len(shifts), 'calib': int(len(y_calib)), 'test': int(len(y_test))},
        'test_speakers': list(TEST_SPEAKERS),
        'train_speakers': [s for s in SPEAKERS if s not in TEST_SPEAKERS],
        'epochs': args.epochs, 'batch': args.batch, 'lr': args.lr, 'seed': SEED,
        'train_seconds': round(train_seconds, 1),
        **count_params_and_macs(model),
    }

    args.out.mkdir(parents=True, exist_ok=True)
    onnx_path = args.out / 'model.onnx'
    torch.onnx.export(model, (x_test[:1],), str(onnx_path), opset_version=13,
                      input_names=list(DSCNN.inputs), output_names=list(DSCNN.outputs), do_constant_folding=True)
    import onnx
    m = onnx.load(str(onnx_path))
    onnx.checker.check_model(m)
    metrics['onnx_ops'] = sorted({nd.op_type for nd in m.graph.node})
    np.savez_compressed(args.out / 'calib.npz', mfcc=x_calib.numpy(), labels=y_calib)
    np.savez_compressed(args.out / 'test.npz', mfcc=x_test.numpy(), labels=y_test)
    frontend = {
        'sample_rate': SAMPLE_RATE, 'pcm_scale': PCM_SCALE, 'signal_length': SIGNAL_LENGTH,
        'length_rule': 'keep the first signal_length samples, zero-pad at the end',
        'win_length': WIN_LENGTH, 'hop_length': HOP_LENGTH, 'n_fft': N_FFT, 'window': 'periodic Hann, zero-padded to n_fft',
        'n_frames': N_FRAMES, 'power': '|rfft|^2, unscaled', 'n_mels': N_MELS, 'mel_scale': 'HTK 2595*log10(1+f/700)',
        'fmin': MEL_FMIN, 'fmax': MEL_FMAX, 'filter_norm': 'none (triangle peak 1)', 'log': 'natural',
        'log_floor': LOG_FLOOR, 'dct': 'DCT-II orthonormal', 'n_mfcc': N_MFCC, 'layout': '[1, 1, n_frames, n_mfcc]',
        'mean': mean.tolist(), 'std': std.tolist(),
    }
    (args.out / 'frontend.json').write_text(json.dumps(frontend, indent=1) + '\n')
    (args.out / 'metrics.json').write_text(json.dumps(metrics, indent=1) + '\n')
    log(json.dumps(metrics))
    log(f'total {time.time() - t_start:.1f} s wall, {time.process_time():.1f} s CPU')
    (args.out / 'train.log').write_text('\n'.join(log_lines) + '\n')


if __name__ == '__main__':
    main()
