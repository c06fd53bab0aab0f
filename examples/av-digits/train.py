#!/usr/bin/python3
"""Audio-visual digits: MNIST images paired with Free Spoken Digit recordings of the same digit.

Builds the paired data set, the MFCC front end, trains five small CNNs (intermediate fusion = the
main model, image-only, audio-only, early fusion, late fusion), exports each to ONNX (opset 13) and
writes the calibration / test arrays next to this script.

Run from anywhere (CPU, one thread, about 10 minutes on one core):
    /usr/bin/python3 examples/av-digits/train.py

Everything is seeded; the MFCC recipe below is the exact definition a device front end must match
(see README.md, "Audio front end"). numpy only for the front end: torchaudio is not installed here,
and writing the recipe out keeps every constant visible.
"""
from __future__ import annotations

import argparse
import gzip
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
DATASETS = (HERE / '../../../shared/datasets').resolve()
SEED = 20260

# ---------------------------------------------------------------------------------------------
# Audio front end (MFCC). Every constant a device implementation needs is here.
# ---------------------------------------------------------------------------------------------
SAMPLE_RATE = 8000          # FSDD is 8 kHz mono int16; no resampling
PCM_SCALE = 1.0 / 32768.0   # int16 -> float in [-1, 1)
WIN_LENGTH = 256            # 32 ms analysis window
HOP_LENGTH = 160            # 20 ms between frame starts
N_FFT = 256                 # = WIN_LENGTH: no zero padding inside a frame
N_FRAMES = 40               # fixed number of frames per utterance
# Samples covered by N_FRAMES frames: the signal is cut or zero-padded to exactly this length.
SIGNAL_LENGTH = WIN_LENGTH + (N_FRAMES - 1) * HOP_LENGTH  # 6496 samples = 0.812 s
N_MELS = 32
MEL_FMIN = 20.0
MEL_FMAX = 4000.0           # Nyquist
LOG_FLOOR = 1e-6            # natural log of max(mel energy, LOG_FLOOR)
N_MFCC = 13                 # DCT-II (orthonormal) coefficients 0..12, c0 included


def hann_periodic(n: int) -> np.ndarray:
    """w[i] = 0.5 - 0.5 cos(2 pi i / n), i = 0..n-1 (periodic Hann, the FFT-analysis variant)."""
    return 0.5 - 0.5 * np.cos(2.0 * np.pi * np.arange(n) / n)


def hz_to_mel(f):
    """HTK mel scale."""
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def mel_to_hz(m):
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank() -> np.ndarray:
    """[N_MELS, N_FFT/2+1] triangular filters, peak 1 (no area normalisation).

    N_MELS+2 edge frequencies are equally spaced in HTK mel between MEL_FMIN and MEL_FMAX. Filter m
    rises linearly from edge m to edge m+1 and falls to edge m+2; weights are the triangle evaluated
    at the FFT bin centre frequencies k * SAMPLE_RATE / N_FFT.
    """
    edges = mel_to_hz(np.linspace(hz_to_mel(MEL_FMIN), hz_to_mel(MEL_FMAX), N_MELS + 2))
    bins = np.arange(N_FFT // 2 + 1) * SAMPLE_RATE / N_FFT
    fb = np.zeros((N_MELS, bins.size))
    for m in range(N_MELS):
        lo, mid, hi = edges[m], edges[m + 1], edges[m + 2]
        rising = (bins - lo) / (mid - lo)
        falling = (hi - bins) / (hi - mid)
        fb[m] = np.maximum(0.0, np.minimum(rising, falling))
    assert (fb.sum(axis=1) > 0).all(), 'a mel filter covers no FFT bin'
    return fb


def dct2_ortho(n_in: int, n_out: int) -> np.ndarray:
    """[n_out, n_in] orthonormal DCT-II: c[k] = s_k sum_m x[m] cos(pi k (m + 0.5) / n_in),
    s_0 = sqrt(1/n_in), s_k = sqrt(2/n_in)."""
    k = np.arange(n_out)[:, None]
    m = np.arange(n_in)[None, :]
    d = np.cos(np.pi * k * (m + 0.5) / n_in) * np.sqrt(2.0 / n_in)
    d[0] *= np.sqrt(0.5)
    return d


FILTERBANK = mel_filterbank()
DCT = dct2_ortho(N_MELS, N_MFCC)
WINDOW = hann_periodic(WIN_LENGTH)


def fix_length(pcm: np.ndarray) -> np.ndarray:
    """Keep the first SIGNAL_LENGTH samples; zero-pad at the end when shorter.
    FSDD files are already trimmed of leading silence, so the utterance starts at sample 0."""
    x = pcm[:SIGNAL_LENGTH].astype(np.float64) * PCM_SCALE
    return np.pad(x, (0, SIGNAL_LENGTH - x.size))


def mfcc_raw(pcm: np.ndarray) -> np.ndarray:
    """int16 PCM -> un-normalised MFCC [N_MFCC, N_FRAMES] (row = coefficient, column = frame).
    No pre-emphasis, no dither, no DC removal, no liftering."""
    x = fix_length(pcm)
    idx = np.arange(N_FRAMES)[:, None] * HOP_LENGTH + np.arange(WIN_LENGTH)[None, :]
    frames = x[idx] * WINDOW                                    # [T, WIN_LENGTH]
    power = np.abs(np.fft.rfft(frames, n=N_FFT, axis=1)) ** 2   # [T, 129], unscaled |X[k]|^2
    mel = power @ FILTERBANK.T                                  # [T, N_MELS]
    logmel = np.log(np.maximum(mel, LOG_FLOOR))
    return (logmel @ DCT.T).T                                   # [N_MFCC, T]


# Per-coefficient standardisation (audio = (mfcc - MEAN[k]) / STD[k]) is the last front-end step.
# MEAN / STD are measured on the FSDD train split at run time and written to frontend.json.

# ---------------------------------------------------------------------------------------------
# Data
# ---------------------------------------------------------------------------------------------


def read_idx(path: Path) -> np.ndarray:
    with gzip.open(path, 'rb') as f:
        data = f.read()
    magic = int.from_bytes(data[0:4], 'big')
    if magic == 2051:
        n, h, w = (int.from_bytes(data[4 + 4 * i:8 + 4 * i], 'big') for i in range(3))
        return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(n, h, w)
    if magic == 2049:
        n = int.from_bytes(data[4:8], 'big')
        return np.frombuffer(data, dtype=np.uint8, offset=8)[:n]
    raise ValueError(f'{path}: unknown IDX magic {magic}')


def load_mnist(split: str):
    prefix = 'train' if split == 'train' else 't10k'
    images = read_idx(DATASETS / 'mnist' / f'{prefix}-images-idx3-ubyte.gz')
    labels = read_idx(DATASETS / 'mnist' / f'{prefix}-labels-idx1-ubyte.gz')
    # Model input: float in [0, 1], pixel / 255.
    return (images.astype(np.float32) / 255.0)[:, None], labels.astype(np.int64)


def load_fsdd():
    """All recordings, sorted by file name. Official split: index 0-4 test, 5-49 train."""
    rec_dir = DATASETS / 'fsdd' / 'recordings'
    out = {'train': ([], [], []), 'test': ([], [], [])}
    for name in sorted(os.listdir(rec_dir)):
        if not name.endswith('.wav'):
            continue
        digit, _speaker, index = name[:-4].split('_')
        with wave.open(str(rec_dir / name), 'rb') as w:
            assert w.getframerate() == SAMPLE_RATE and w.getnchannels() == 1 and w.getsampwidth() == 2
            pcm = np.frombuffer(w.readframes(w.getnframes()), dtype='<i2')
        split = 'test' if int(index) < 5 else 'train'
        out[split][0].append(mfcc_raw(pcm))
        out[split][1].append(int(digit))
        out[split][2].append(name)
    return {s: (np.stack(m).astype(np.float64), np.array(l, dtype=np.int64), n) for s, (m, l, n) in out.items()}


def pair_by_label(image_labels: np.ndarray, audio_labels: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """For every image, the index of a recording with the same digit. Per digit, the recordings are
    shuffled once and then used round-robin, so each is reused as evenly as possible."""
    pairing = np.empty(image_labels.size, dtype=np.int64)
    for d in range(10):
        img_idx = np.flatnonzero(image_labels == d)
        rec_idx = rng.permutation(np.flatnonzero(audio_labels == d))
        pairing[img_idx] = rec_idx[np.arange(img_idx.size) % rec_idx.size]
    return pairing


def balanced_subset(labels: np.ndarray, per_class: int, rng: np.random.Generator) -> np.ndarray:
    """per_class random indices of every digit, in random order."""
    idx = np.concatenate([rng.choice(np.flatnonzero(labels == d), per_class, replace=False) for d in range(10)])
    return rng.permutation(idx)


def mfcc_as_image(audio: torch.Tensor) -> torch.Tensor:
    """Early-fusion input recipe: the normalised MFCC map [N, 1, 13, 40] resized to 28x28 with
    bilinear interpolation (align_corners=False, no antialiasing), to stack under the image."""
    return F.interpolate(audio, size=(28, 28), mode='bilinear', align_corners=False)


# ---------------------------------------------------------------------------------------------
# Models (TinyM2Net case study 2 shape: standard conv first, then depthwise-separable blocks)
# ---------------------------------------------------------------------------------------------


def conv_bn_relu(cin: int, cout: int, k: int, groups: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(cin, cout, k, padding=k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]


class Branch(nn.Module):
    """conv3x3 -> maxpool -> [dw3x3 + pw1x1] -> maxpool -> [dw3x3 + pw1x1] -> maxpool -> dense + ReLU."""

    def __init__(self, in_ch: int, in_hw: tuple[int, int], widths: tuple[int, int, int], features: int):
        super().__init__()
        c1, c2, c3 = widths
        self.body = nn.Sequential(
            *conv_bn_relu(in_ch, c1, 3), nn.MaxPool2d(2),
            *conv_bn_relu(c1, c1, 3, groups=c1), *conv_bn_relu(c1, c2, 1), nn.MaxPool2d(2),
            *conv_bn_relu(c2, c2, 3, groups=c2), *conv_bn_relu(c2, c3, 1), nn.MaxPool2d(2),
            nn.Flatten(),
        )
        h, w = in_hw
        flat = c3 * (h // 8) * (w // 8)
        self.dense = nn.Sequential(nn.Linear(flat, features), nn.ReLU(), nn.Dropout(0.2))

    def forward(self, x):
        return self.dense(self.body(x))


IMAGE_WIDTHS, IMAGE_FEATURES = (8, 16, 32), 32
AUDIO_WIDTHS, AUDIO_FEATURES = (16, 32, 32), 32
AUDIO_HW = (N_MFCC, N_FRAMES)


class IntermediateFusion(nn.Module):
    """Main model: two branches, concatenated features, one dense head."""
    inputs = ('image', 'audio')
    outputs = ('logits',)

    def __init__(self):
        super().__init__()
        self.image = Branch(1, (28, 28), IMAGE_WIDTHS, IMAGE_FEATURES)
        self.audio = Branch(1, AUDIO_HW, AUDIO_WIDTHS, AUDIO_FEATURES)
        self.head = nn.Linear(IMAGE_FEATURES + AUDIO_FEATURES, 10)

    def forward(self, image, audio):
        return self.head(torch.cat([self.image(image), self.audio(audio)], dim=1))


class ImageOnly(nn.Module):
    inputs = ('image',)
    outputs = ('logits',)

    def __init__(self):
        super().__init__()
        self.image = Branch(1, (28, 28), IMAGE_WIDTHS, IMAGE_FEATURES)
        self.head = nn.Linear(IMAGE_FEATURES, 10)

    def forward(self, image):
        return self.head(self.image(image))


class AudioOnly(nn.Module):
    inputs = ('audio',)
    outputs = ('logits',)

    def __init__(self):
        super().__init__()
        self.audio = Branch(1, AUDIO_HW, AUDIO_WIDTHS, AUDIO_FEATURES)
        self.head = nn.Linear(AUDIO_FEATURES, 10)

    def forward(self, audio):
        return self.head(self.audio(audio))


class EarlyFusion(nn.Module):
    """One branch over a 2-channel 28x28 input: channel 0 the image, channel 1 the MFCC map resized."""
    inputs = ('image_audio',)
    outputs = ('logits',)

    def __init__(self):
        super().__init__()
        self.body = Branch(2, (28, 28), AUDIO_WIDTHS, IMAGE_FEATURES + AUDIO_FEATURES)
        self.head = nn.Linear(IMAGE_FEATURES + AUDIO_FEATURES, 10)

    def forward(self, image_audio):
        return self.head(self.body(image_audio))


class LateFusion(nn.Module):
    """One classifier per modality; the fused output is the mean of the two heads' logits."""
    inputs = ('image', 'audio')
    outputs = ('image_logits', 'audio_logits', 'logits')

    def __init__(self):
        super().__init__()
        self.image = ImageOnly()
        self.audio = AudioOnly()

    def forward(self, image, audio):
        image_logits = self.image(image)
        audio_logits = self.audio(audio)
        return image_logits, audio_logits, (image_logits + audio_logits) * 0.5


VARIANTS = {
    'model': IntermediateFusion,       # main model: model.onnx
    'image_only': ImageOnly,
    'audio_only': AudioOnly,
    'early_fusion': EarlyFusion,
    'late_fusion': LateFusion,
}


def count_params_and_macs(model: nn.Module, example: tuple[torch.Tensor, ...]) -> dict:
    """Multiply-accumulates of Conv2d / Linear for one inference (batch 1), and parameter counts:
    `trainable` as trained (BatchNorm included), `deployed` after folding BatchNorm into the conv before
    it (weights + one bias per output channel), which is what the ONNX file holds."""
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
        model(*example)
    for h in handles:
        h.remove()
    trainable = sum(p.numel() for p in model.parameters())
    return {'macs': int(macs), 'params_trainable': int(trainable), 'params_deployed': int(deployed)}


# ---------------------------------------------------------------------------------------------
# Training
# ---------------------------------------------------------------------------------------------


class PairedData:
    """Images, the recording table and the pairing; builds the inputs a variant needs for a batch."""

    def __init__(self, images, labels, audio_table, pairing):
        self.images = torch.from_numpy(images)
        self.labels = torch.from_numpy(labels)
        self.audio_table = torch.from_numpy(audio_table.astype(np.float32))[:, None]
        self.audio_as_image = mfcc_as_image(self.audio_table)
        self.pairing = torch.from_numpy(pairing)

    def __len__(self):
        return self.labels.numel()

    def inputs(self, name: str, idx: torch.Tensor) -> dict[str, torch.Tensor]:
        if name in ('image_only',):
            return {'image': self.images[idx]}
        if name in ('audio_only',):
            return {'audio': self.audio_table[self.pairing[idx]]}
        if name == 'early_fusion':
            return {'image_audio': torch.cat([self.images[idx], self.audio_as_image[self.pairing[idx]]], dim=1)}
        return {'image': self.images[idx], 'audio': self.audio_table[self.pairing[idx]]}


def loss_of(name: str, out, labels):
    if name == 'late_fusion':
        image_logits, audio_logits, fused = out
        # Each head must classify on its own (so either can stand in when a modality drops out),
        # and the mean must too.
        return F.cross_entropy(image_logits, labels) + F.cross_entropy(audio_logits, labels) + F.cross_entropy(fused, labels)
    return F.cross_entropy(out, labels)


def drop_modalities(inputs: dict[str, torch.Tensor], p: float, gen: torch.Generator) -> dict[str, torch.Tensor]:
    """Modality dropout: in a fraction p of the rows one input (image or audio, equally likely) is
    replaced by zeros (a blank page / the standardised mean MFCC). Without it the fused model leans on
    the audio, which it half memorises (every train recording appears in about 22 pairs), and does
    worse than either head when one input is missing."""
    rows = next(iter(inputs.values())).shape[0]
    u = torch.rand(rows, generator=gen)
    out = dict(inputs)
    for name, lo, hi in (('image', 0.0, p / 2), ('audio', p / 2, p)):
        keep = ~((u >= lo) & (u < hi))
        out[name] = inputs[name] * keep.view(-1, 1, 1, 1).to(inputs[name].dtype)
    return out


def train_variant(name: str, data: PairedData, epochs: int, batch: int, lr: float, log,
                  modality_dropout: float = 0.0) -> nn.Module:
    torch.manual_seed(SEED + sum(map(ord, name)))
    model = VARIANTS[name]()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    steps = epochs * ((len(data) + batch - 1) // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.15)
    gen = torch.Generator().manual_seed(SEED)
    for epoch in range(epochs):
        model.train()
        t0 = time.time()
        order = torch.randperm(len(data), generator=gen)
        total, correct, seen = 0.0, 0, 0
        for s in range(0, len(data), batch):
            idx = order[s:s + batch]
            inputs = data.inputs(name, idx)
            if modality_dropout > 0 and name == 'model':
                inputs = drop_modalities(inputs, modality_dropout, gen)
            out = model(**inputs)
            labels = data.labels[idx]
            loss = loss_of(name, out, labels)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            fused = out[-1] if isinstance(out, tuple) else out
            total += loss.item() * idx.numel()
            correct += int((fused.argmax(1) == labels).sum())
            seen += idx.numel()
        log(f'  {name} epoch {epoch + 1}/{epochs}: loss {total / seen:.4f}  train acc {correct / seen:.4f}  ({time.time() - t0:.1f} s)')
    model.eval()
    return model


@torch.no_grad()
def evaluate(model: nn.Module, inputs: dict[str, torch.Tensor], labels: torch.Tensor) -> dict[str, float]:
    model.eval()
    out = model(**inputs)
    outs = out if isinstance(out, tuple) else (out,)
    return {n: float((o.argmax(1) == labels).float().mean()) for n, o in zip(model.outputs, outs)}


def export_onnx(model: nn.Module, example: dict[str, torch.Tensor], path: Path):
    model.eval()
    torch.onnx.export(
        model, tuple(example[n][:1] for n in model.inputs), str(path), opset_version=13,
        input_names=list(model.inputs), output_names=list(model.outputs), do_constant_folding=True,
    )
    import onnx
    m = onnx.load(str(path))
    onnx.checker.check_model(m)
    return sorted({n.op_type for n in m.graph.node})


def save_npz(path: Path, arrays: dict[str, np.ndarray]):
    np.savez_compressed(path, **arrays)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--epochs', type=int, default=6)
    ap.add_argument('--batch', type=int, default=128)
    ap.add_argument('--lr', type=float, default=3e-3)
    ap.add_argument('--train-images', type=int, default=60000, help='MNIST train images used for pairs (all by default)')
    ap.add_argument('--modality-dropout', type=float, default=0.2,
                    help='fraction of training rows of the main model with one input zeroed')
    ap.add_argument('--only', nargs='*', choices=list(VARIANTS), help='train only these variants')
    ap.add_argument('--out', type=Path, default=HERE, help='where the .onnx / .npz / results go')
    args = ap.parse_args()

    torch.set_num_threads(1)  # teammates share the CPU
    np.random.seed(SEED)
    rng = np.random.default_rng(SEED)
    args.out.mkdir(parents=True, exist_ok=True)
    log_lines: list[str] = []

    def log(msg: str):
        print(msg, flush=True)
        log_lines.append(msg)

    t_start = time.time()
    fsdd = load_fsdd()
    mfcc_train, audio_labels_train, _ = fsdd['train']
    mfcc_test, audio_labels_test, names_test = fsdd['test']
    # Standardisation constants over every frame of every train recording (padding frames included,
    # since the device sees them too).
    mean = mfcc_train.mean(axis=(0, 2))
    std = mfcc_train.std(axis=(0, 2))
    audio_train = (mfcc_train - mean[None, :, None]) / std[None, :, None]
    audio_test = (mfcc_test - mean[None, :, None]) / std[None, :, None]
    log(f'FSDD: {len(audio_labels_train)} train / {len(audio_labels_test)} test recordings, MFCC {audio_train.shape[1:]}'
        f' ({time.time() - t_start:.1f} s); standardised train range [{audio_train.min():.2f}, {audio_train.max():.2f}]')

    img_train, lab_train = load_mnist('train')
    img_test, lab_test = load_mnist('test')
    keep = np.sort(rng.permutation(lab_train.size)[:args.train_images])
    img_train, lab_train = img_train[keep], lab_train[keep]

    pair_train = pair_by_label(lab_train, audio_labels_train, rng)
    test_idx = balanced_subset(lab_test, 100, rng)          # 1000 test pairs, 100 per digit
    img_test, lab_test = img_test[test_idx], lab_test[test_idx]
    pair_test = pair_by_label(lab_test, audio_labels_test, rng)
    assert (audio_labels_train[pair_train] == lab_train).all() and (audio_labels_test[pair_test] == lab_test).all()

    train = PairedData(img_train, lab_train, audio_train, pair_train)
    test = PairedData(img_test, lab_test, audio_test, pair_test)
    calib_idx = torch.from_numpy(balanced_subset(lab_train, 30, rng))   # 300 calibration pairs from train
    all_test = torch.arange(len(test))
    log(f'pairs: {len(train)} train, {len(test)} test (MNIST test images {test_idx.size}, '
        f'{np.unique(pair_test).size} distinct FSDD test recordings), {calib_idx.numel()} calibration')

    # Front-end description for device implementations and for the README.
    frontend = {
        'sample_rate': SAMPLE_RATE, 'pcm_scale': PCM_SCALE, 'signal_length': SIGNAL_LENGTH,
        'length_rule': 'keep the first signal_length samples, zero-pad at the end',
        'win_length': WIN_LENGTH, 'hop_length': HOP_LENGTH, 'n_fft': N_FFT, 'window': 'periodic Hann',
        'n_frames': N_FRAMES, 'power': '|rfft|^2, unscaled', 'n_mels': N_MELS, 'mel_scale': 'HTK 2595*log10(1+f/700)',
        'fmin': MEL_FMIN, 'fmax': MEL_FMAX, 'filter_norm': 'none (triangle peak 1)', 'log': 'natural',
        'log_floor': LOG_FLOOR, 'dct': 'DCT-II orthonormal', 'n_mfcc': N_MFCC, 'layout': '[n_mfcc, n_frames]',
        'mean': mean.tolist(), 'std': std.tolist(),
        'early_fusion_resize': 'bilinear 13x40 -> 28x28, align_corners=False (torch.nn.functional.interpolate)',
    }
    (args.out / 'frontend.json').write_text(json.dumps(frontend, indent=1) + '\n')

    # The main test / calibration arrays (also the inputs of late_fusion.onnx).
    def arrays(data: PairedData, idx: torch.Tensor, name: str) -> dict[str, np.ndarray]:
        d = {k: v.numpy().astype(np.float32) for k, v in data.inputs(name, idx).items()}
        d['labels'] = data.labels[idx].numpy().astype(np.int64)
        return d

    save_npz(args.out / 'test.npz', arrays(test, all_test, 'model'))
    save_npz(args.out / 'calib.npz', arrays(train, calib_idx, 'model'))
    for name in ('image_only', 'early_fusion'):
        save_npz(args.out / f'{name}.test.npz', arrays(test, all_test, name))
        save_npz(args.out / f'{name}.calib.npz', arrays(train, calib_idx, name))
    # Audio-only test: the 300 distinct FSDD test recordings (the official split), no reuse.
    save_npz(args.out / 'audio_only.test.npz', {'audio': audio_test[:, None].astype(np.float32), 'labels': audio_labels_test})
    save_npz(args.out / 'audio_only.calib.npz', arrays(train, calib_idx, 'audio_only'))

    results_path = args.out / 'results.json'
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    results.setdefault('models', {})
    audio_unique = {'audio': torch.from_numpy(audio_test[:, None].astype(np.float32))}
    for name in args.only or list(VARIANTS):
        t0 = time.time()
        model = train_variant(name, train, args.epochs, args.batch, args.lr, log, args.modality_dropout)
        seconds = time.time() - t0
        test_inputs = test.inputs(name, all_test)
        acc = evaluate(model, test_inputs, test.labels)
        entry = {'test_accuracy_pairs': acc, 'train_seconds': round(seconds, 1), 'epochs': args.epochs,
                 **count_params_and_macs(model, tuple(v[:1] for v in test_inputs.values()))}
        if name in ('audio_only',):
            entry['test_accuracy_fsdd_300'] = evaluate(model, audio_unique, torch.from_numpy(audio_labels_test))
        if name in ('model', 'late_fusion'):
            # Missing-modality check: the other input replaced by zeros (the standardised mean for audio,
            # a blank page for the image).
            blank_audio = dict(test_inputs, audio=torch.zeros_like(test_inputs['audio']))
            blank_image = dict(test_inputs, image=torch.zeros_like(test_inputs['image']))
            entry['test_accuracy_audio_zeroed'] = evaluate(model, blank_audio, test.labels)
            entry['test_accuracy_image_zeroed'] = evaluate(model, blank_image, test.labels)
        entry['onnx_ops'] = export_onnx(model, test_inputs, args.out / f'{name}.onnx')
        results['models'][name] = entry
        log(f'{name}: {json.dumps(entry)}')
    results['data'] = {'train_pairs': len(train), 'test_pairs': len(test), 'calib_pairs': int(calib_idx.numel()),
                       'fsdd_test_recordings_used': int(np.unique(pair_test).size), 'seed': SEED}
    results_path.write_text(json.dumps(results, indent=1) + '\n')
    log(f'total {time.time() - t_start:.1f} s wall, {time.process_time():.1f} s CPU')
    (args.out / 'train.log').write_text('\n'.join(log_lines) + '\n')


if __name__ == '__main__':
    main()
