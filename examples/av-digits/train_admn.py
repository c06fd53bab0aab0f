#!/usr/bin/python3
"""ADMN variant of av-digits: per-modality backbones of skippable residual blocks (layer-wise adaptive depth).

ADMN (Wu et al., "layer-wise adaptive depth multimodal network") lets a controller pick how many layers
each modality's backbone runs. Here each modality (image, audio) has a stem convolution, then BLOCKS
residual blocks y = x + f(x) at one width and resolution, then 2x2 average pooling and its own
dense 10-way head; the fused output `logits` is the mean of the two heads' logits (as late_fusion.onnx, so
DynaFuse can drop a whole modality too). f = depthwise 3x3 + BN + ReLU, pointwise 1x1 + BN; no
activation after the add, so a skipped block is exactly the identity.

LayerDrop-style training: every block of every sample is dropped with probability --drop (its f(x)
multiplied by 0, no rescaling), so every subset of blocks is a network the heads were trained on.
Inputs also get Gaussian noise (sigma ~ U(0, --noise-max) x the channel's std, per modality, with
probability --noise-p), the noise model of the DynaFuse protocol.

The exported admn.onnx declares its blocks in the ONNX metadata (key `tinym2.admn.blocks`, see
compiler/admn/README.md): for each block its modality and its residual input / output tensors.
Reuses calib.npz / test.npz (same inputs as late_fusion.onnx).

Run (CPU, one thread, a few minutes):  nice /usr/bin/python3 examples/av-digits/train_admn.py
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import train as avd  # noqa: E402  the data pipeline of the other variants (MFCC recipe, pairing)

SEED = 20261
BLOCKS = 3
WIDTH = 16


class Block(nn.Module):
    """y = x + pw(relu(dw(x))) with BN folded at export; no activation after the add."""

    def __init__(self, c: int):
        super().__init__()
        self.f = nn.Sequential(nn.Conv2d(c, c, 3, padding=1, groups=c, bias=False), nn.BatchNorm2d(c), nn.ReLU(),
                               nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c))

    def forward(self, x, keep=None):
        h = self.f(x)
        return x + (h if keep is None else h * keep.view(-1, 1, 1, 1))


class Backbone(nn.Module):
    def __init__(self, stride: tuple[int, int], flat: int):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, WIDTH, 3, stride=stride, padding=1, bias=False), nn.BatchNorm2d(WIDTH), nn.ReLU())
        self.blocks = nn.ModuleList([Block(WIDTH) for _ in range(BLOCKS)])
        self.pool = nn.AvgPool2d(2)
        self.head = nn.Linear(flat, 10)

    def forward(self, x, keep=None):
        h = self.stem(x)
        for b, block in enumerate(self.blocks):
            h = block(h, None if keep is None else keep[:, b])
        return self.head(torch.flatten(self.pool(h), 1))


class AdmnNet(nn.Module):
    inputs = ('image', 'audio')
    outputs = ('image_logits', 'audio_logits', 'logits')

    def __init__(self):
        super().__init__()
        self.image = Backbone((2, 2), WIDTH * 7 * 7)      # 28x28 -> 14x14 blocks -> 7x7
        self.audio = Backbone((1, 2), WIDTH * 6 * 10)     # 13x40 -> 13x20 blocks -> 6x10
        self.keep = None  # training only: [batch, 2, BLOCKS] block keep mask

    def forward(self, image, audio):
        k = self.keep
        image_logits = self.image(image, None if k is None else k[:, 0])
        audio_logits = self.audio(audio, None if k is None else k[:, 1])
        return image_logits, audio_logits, (image_logits + audio_logits) * 0.5


def add_noise(x: torch.Tensor, std: float, p: float, sigma_max: float, gen: torch.Generator) -> torch.Tensor:
    b = x.shape[0]
    sigma = torch.rand(b, generator=gen) * sigma_max * (torch.rand(b, generator=gen) < p).float()
    return x + (sigma * std).view(-1, 1, 1, 1) * torch.randn(x.shape, generator=gen)


@torch.no_grad()
def accuracy_by_depth(model: AdmnNet, inputs: dict, labels: torch.Tensor) -> dict:
    """Top-1 of each head when each modality runs its first d blocks (d = 0..BLOCKS, both modalities the same d),
    and of every head at every (d_image, d_audio)."""
    model.eval()
    out = {}
    for di in range(BLOCKS + 1):
        for da in range(BLOCKS + 1):
            keep = torch.zeros(1, 2, BLOCKS)
            keep[0, 0, :di] = 1
            keep[0, 1, :da] = 1
            model.keep = keep.expand(labels.numel(), -1, -1)
            il, al, fl = model(**inputs)
            out[f'{di},{da}'] = {n: round(float((o.argmax(1) == labels).float().mean()), 4) for n, o in zip(model.outputs, (il, al, fl))}
    model.keep = None
    return out


def declare_blocks(path: Path) -> list[dict]:
    """Writes the block declarations into the ONNX metadata: the Add of block k of modality m is the node
    named '/<m>/blocks.<k>/Add' (torch's module scope); its residual input is the Add input not made inside."""
    import onnx
    m = onnx.load(str(path))
    blocks = []
    for modality in AdmnNet.inputs:
        for k in range(BLOCKS):
            scope = f'/{modality}/blocks.{k}/'
            adds = [n for n in m.graph.node if n.name.startswith(scope) and n.op_type == 'Add']
            assert len(adds) == 1, (scope, [n.name for n in adds])
            inside = {o for n in m.graph.node if n.name.startswith(scope) for o in n.output}
            residual = [i for i in adds[0].input if i not in inside]
            assert len(residual) == 1, (scope, list(adds[0].input))
            blocks.append({'modality': modality, 'input': residual[0], 'output': adds[0].output[0]})
    entry = m.metadata_props.add()
    entry.key = 'tinym2.admn.blocks'
    entry.value = json.dumps(blocks)
    onnx.checker.check_model(m)
    onnx.save(m, str(path))
    return blocks


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--datasets', type=Path, default=avd.DATASETS, help='folder with mnist/ and fsdd/')
    ap.add_argument('--epochs', type=int, default=6)
    ap.add_argument('--train-images', type=int, default=40000)
    ap.add_argument('--batch', type=int, default=128)
    ap.add_argument('--lr', type=float, default=4e-3)
    ap.add_argument('--drop', type=float, default=0.5, help='LayerDrop: probability that a block of a sample is skipped')
    ap.add_argument('--noise-max', type=float, default=1.5)
    ap.add_argument('--noise-p', type=float, default=0.5)
    ap.add_argument('--out', type=Path, default=HERE)
    args = ap.parse_args()
    avd.DATASETS = args.datasets.resolve()

    torch.set_num_threads(1)  # teammates share the CPU
    torch.manual_seed(SEED)
    rng = np.random.default_rng(avd.SEED)   # the other variants' stream: the same test pairs as test.npz
    t_start = time.time()

    # The data pipeline of train.py's main(), in the same order (so test / calib pairs are the same).
    fsdd = avd.load_fsdd()
    mfcc_train, audio_labels_train, _ = fsdd['train']
    mfcc_test, audio_labels_test, _ = fsdd['test']
    mean = mfcc_train.mean(axis=(0, 2))
    std = mfcc_train.std(axis=(0, 2))
    audio_train = (mfcc_train - mean[None, :, None]) / std[None, :, None]
    audio_test = (mfcc_test - mean[None, :, None]) / std[None, :, None]
    img_train, lab_train = avd.load_mnist('train')
    img_test, lab_test = avd.load_mnist('test')
    keep = np.sort(rng.permutation(lab_train.size)[:60000])
    img_train, lab_train = img_train[keep], lab_train[keep]
    pair_train = avd.pair_by_label(lab_train, audio_labels_train, rng)
    test_idx = avd.balanced_subset(lab_test, 100, rng)
    img_test, lab_test = img_test[test_idx], lab_test[test_idx]
    pair_test = avd.pair_by_label(lab_test, audio_labels_test, rng)
    train = avd.PairedData(img_train, lab_train, audio_train, pair_train)
    test = avd.PairedData(img_test, lab_test, audio_test, pair_test)
    # Check against the committed test.npz: same pairs.
    committed = np.load(HERE / 'test.npz')
    assert np.array_equal(committed['labels'], lab_test), 'test pairs differ from test.npz'
    assert np.allclose(committed['audio'], test.audio_table[test.pairing].numpy(), atol=1e-5), 'test audio differs from test.npz'

    sub = torch.from_numpy(np.random.default_rng(SEED).permutation(len(train))[:args.train_images])
    img_std = float(train.images.std())
    model = AdmnNet()
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=1e-4)
    steps = args.epochs * ((sub.numel() + args.batch - 1) // args.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps, pct_start=0.15)
    gen = torch.Generator().manual_seed(SEED)
    log_lines = []

    def log(msg):
        print(msg, flush=True)
        log_lines.append(msg)

    for epoch in range(args.epochs):
        model.train()
        t0 = time.time()
        order = sub[torch.randperm(sub.numel(), generator=gen)]
        total, seen = 0.0, 0
        for s in range(0, order.numel(), args.batch):
            idx = order[s:s + args.batch]
            inputs = train.inputs('late_fusion', idx)
            inputs['image'] = add_noise(inputs['image'], img_std, args.noise_p, args.noise_max, gen)
            inputs['audio'] = add_noise(inputs['audio'], 1.0, args.noise_p, args.noise_max, gen)
            model.keep = (torch.rand(idx.numel(), 2, BLOCKS, generator=gen) >= args.drop).float()
            il, al, fl = model(**inputs)
            labels = train.labels[idx]
            loss = F.cross_entropy(il, labels) + F.cross_entropy(al, labels) + F.cross_entropy(fl, labels)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * idx.numel()
            seen += idx.numel()
        log(f'epoch {epoch + 1}/{args.epochs}: loss {total / seen:.4f} ({time.time() - t0:.1f} s)')
    model.keep = None
    model.eval()

    test_inputs = test.inputs('late_fusion', torch.arange(len(test)))
    by_depth = accuracy_by_depth(model, test_inputs, test.labels)
    for d in range(BLOCKS + 1):
        log(f'FP32 test top-1 at depth {d} (both modalities): {by_depth[f"{d},{d}"]}')

    path = args.out / 'admn.onnx'
    torch.onnx.export(model, tuple(test_inputs[n][:1] for n in model.inputs), str(path), opset_version=13,
                      input_names=list(model.inputs), output_names=list(model.outputs), do_constant_folding=True)
    blocks = declare_blocks(path)
    log(f'wrote {path}: {len(blocks)} blocks {blocks}')
    results_path = args.out / 'results.json'
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    results.setdefault('models', {})['admn'] = {
        'test_accuracy_fp32_by_depth': by_depth, 'blocks_per_modality': BLOCKS, 'width': WIDTH,
        'hyperparameters': {k: (str(v) if isinstance(v, Path) else v) for k, v in vars(args).items() if k not in ('datasets', 'out')},
        'train_seconds': round(time.time() - t_start, 1),
    }
    results_path.write_text(json.dumps(results, indent=1) + '\n')
    (args.out / 'train_admn.log').write_text('\n'.join(log_lines) + '\n')


if __name__ == '__main__':
    main()
