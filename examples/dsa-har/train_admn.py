#!/usr/bin/python3
"""ADMN variant of dsa-har: per-IMU backbones of skippable residual blocks (layer-wise adaptive depth).

Each of the five IMUs has a stem (conv 9->C, k5, stride 2, no padding, so the standardisation folds into
it), then BLOCKS residual blocks y = x + f(x) with f = conv k3 (pad 1) + BN + ReLU, conv 1x1 + BN (no
activation after the add: a skipped block is exactly the identity), global average pooling, dense
C->hidden ReLU, and its own 19-way head; the fused head is one dense layer over the five hidden
features, as in model.onnx.

LayerDrop-style training: every block of every sample is dropped with probability --drop (f(x) x 0, no
rescaling), so any subset of blocks works. Training noise, rotation and modality dropout as train.py.
The exported admn.onnx declares its blocks in the ONNX metadata (key `tinym2.admn.blocks`, see
compiler/admn/README.md). Reuses calib.npz / test.npz (same raw-unit inputs as model.onnx).

Run (CPU, one thread, a few minutes):  nice /usr/bin/python3 examples/dsa-har/train_admn.py
"""

import argparse
import copy
import json
import math
import os
import sys
import time

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import train as har  # noqa: E402  data loading, windows, noise of model.onnx's training

BLOCKS = 3


class Block(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.f = nn.Sequential(nn.Conv1d(c, c, 3, padding=1, bias=False), nn.BatchNorm1d(c), nn.ReLU(),
                               nn.Conv1d(c, c, 1, bias=False), nn.BatchNorm1d(c))

    def forward(self, x, keep=None):
        h = self.f(x)
        return x + (h if keep is None else h * keep.view(-1, 1, 1))


class Branch(nn.Module):
    def __init__(self, c, hidden):
        super().__init__()
        self.conv1 = nn.Conv1d(har.N_CH, c, 5, stride=2)
        self.blocks = nn.ModuleList([Block(c) for _ in range(BLOCKS)])
        self.pool = nn.AdaptiveAvgPool1d(1)
        self.fc1 = nn.Linear(c, hidden)
        self.fc2 = nn.Linear(hidden, har.N_CLASSES)
        self.drop = nn.Dropout(0.2)

    def forward(self, x, keep=None):
        h = F.relu(self.conv1(x))
        for b, block in enumerate(self.blocks):
            h = block(h, None if keep is None else keep[:, b])
        feat = F.relu(self.fc1(torch.flatten(self.pool(h), 1)))
        return feat, self.fc2(self.drop(feat))


class AdmnImuNet(nn.Module):
    def __init__(self, c, hidden, modality_dropout):
        super().__init__()
        for m in har.MODALITIES:
            setattr(self, m, Branch(c, hidden))
        self.fused = nn.Linear(hidden * len(har.MODALITIES), har.N_CLASSES)
        self.drop = nn.Dropout(0.2)
        self.modality_dropout = modality_dropout
        self.keep = None  # [batch, 5, BLOCKS] block keep mask (training and depth evaluation)

    @property
    def branches(self):
        return [getattr(self, m) for m in har.MODALITIES]

    def forward(self, x):
        feats, logits = [], []
        for m, branch in enumerate(self.branches):
            f, l = branch(x[:, m], None if self.keep is None else self.keep[:, m])
            feats.append(f)
            logits.append(l)
        if self.training and self.modality_dropout > 0:
            keep = (torch.rand(x.shape[0], len(feats), 1) >= self.modality_dropout).float() / (1 - self.modality_dropout)
            feats = [f * keep[:, i] for i, f in enumerate(feats)]
        logits.append(self.fused(self.drop(torch.cat(feats, 1))))
        return logits


class RawInputExport(nn.Module):
    """Five raw-unit inputs [1, 9, 125], six logits outputs; standardisation folded into each conv1."""

    def __init__(self, net, mean, std):
        super().__init__()
        for m in har.MODALITIES:
            setattr(self, m, getattr(net, m))
        self.fused = net.fused
        with torch.no_grad():
            for m, branch in enumerate(net.branches):
                mu = torch.from_numpy(mean[m * har.N_CH:(m + 1) * har.N_CH]).double()
                sd = torch.from_numpy(std[m * har.N_CH:(m + 1) * har.N_CH]).double()
                w_raw = branch.conv1.weight.double() / sd[None, :, None]
                b_raw = branch.conv1.bias.double() - (w_raw * mu[None, :, None]).sum(dim=(1, 2))
                branch.conv1.weight.copy_(w_raw.float())
                branch.conv1.bias.copy_(b_raw.float())

    def forward(self, torso, right_arm, left_arm, right_leg, left_leg):
        feats, logits = [], []
        for m, x in zip(har.MODALITIES, (torso, right_arm, left_arm, right_leg, left_leg)):
            f, l = getattr(self, m)(x)
            feats.append(f)
            logits.append(l)
        logits.append(self.fused(torch.cat(feats, 1)))
        return tuple(logits)


@torch.no_grad()
def accuracy_by_depth(net, x_norm, y):
    """Top-1 of every head with every modality at depth d (its first d blocks), d = 0..BLOCKS."""
    net.eval()
    out = {}
    names = har.MODALITIES + ['fused']
    for d in range(BLOCKS + 1):
        keep = torch.zeros(1, 5, BLOCKS)
        keep[:, :, :d] = 1
        net.keep = keep.expand(len(y), -1, -1)
        logits = net(torch.from_numpy(x_norm))
        out[str(d)] = {n: round(float((l.argmax(1) == torch.from_numpy(y)).float().mean()), 4) for n, l in zip(names, logits)}
    net.keep = None
    return out


def declare_blocks(path):
    """Block k of IMU m: the Add node named '/<m>/blocks.<k>/Add'; its residual input is the Add input not made inside."""
    m = onnx.load(path)
    blocks = []
    for modality in har.MODALITIES:
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
    onnx.save(m, path)
    return blocks


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--archive', default=har.DEFAULT_ARCHIVE)
    ap.add_argument('--work', default=os.path.join(HERE, 'build'))
    ap.add_argument('--out', default=HERE)
    ap.add_argument('--seed', type=int, default=7)
    ap.add_argument('--epochs', type=int, default=12)
    ap.add_argument('--windows-per-epoch', type=int, default=4560)
    ap.add_argument('--batch', type=int, default=64)
    ap.add_argument('--lr', type=float, default=3e-3)
    ap.add_argument('--weight-decay', type=float, default=1e-3)
    ap.add_argument('--noise-max', type=float, default=1.0)
    ap.add_argument('--noise-p', type=float, default=0.5)
    ap.add_argument('--rot-deg', type=float, default=30.0)
    ap.add_argument('--rot-p', type=float, default=1.0)
    ap.add_argument('--modality-dropout', type=float, default=0.4)
    ap.add_argument('--drop', type=float, default=0.5, help='LayerDrop: probability that a block of a sample is skipped')
    ap.add_argument('--c', type=int, default=16)
    ap.add_argument('--hidden', type=int, default=32)
    args = ap.parse_args()

    torch.set_num_threads(1)  # teammates share the CPU
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    t_start = time.time()
    rec = har.load_recordings(args.archive, args.work)
    train_subj, test_subj = har.TRAIN_SUBJECTS, har.TEST_SUBJECTS
    flat = rec[:, [p - 1 for p in train_subj]].reshape(-1, 5 * har.N_CH).astype(np.float64)
    mean = flat.mean(0).astype(np.float32)
    std = flat.std(0).astype(np.float32)
    windows = har.RandomWindows(rec, train_subj, mean, std, rng, args.rot_deg, args.rot_p)
    x_test, y_test, seg_test = har.segments_of(rec, test_subj)
    norm = lambda x: ((x - mean.reshape(1, 5, har.N_CH, 1)) / std.reshape(1, 5, har.N_CH, 1)).astype(np.float32)

    net = AdmnImuNet(args.c, args.hidden, args.modality_dropout)
    gen = torch.Generator().manual_seed(args.seed + 1)
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    steps = args.epochs * math.ceil(args.windows_per_epoch / args.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=steps, pct_start=0.15)
    for epoch in range(args.epochs):
        net.train()
        t0, loss_sum, n = time.time(), 0.0, 0
        for x, y in windows.epoch(args.windows_per_epoch, args.batch):
            x = har.add_modality_noise(x, args.noise_max, args.noise_p, gen)
            net.keep = (torch.rand(x.shape[0], 5, BLOCKS, generator=gen) >= args.drop).float()
            logits = net(x)
            loss = sum(F.cross_entropy(l, y, label_smoothing=0.05) for l in logits) / len(logits)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += loss.item() * len(y)
            n += len(y)
        if epoch % 5 == 4 or epoch == args.epochs - 1:
            print(f'epoch {epoch + 1:3d}  loss {loss_sum / n:.4f}  ({time.time() - t0:.1f} s)', flush=True)
    net.keep = None
    net.eval()
    by_depth = accuracy_by_depth(net, norm(x_test), y_test)
    for d, acc in by_depth.items():
        print(f'FP32 test top-1, every IMU at depth {d}:', acc, flush=True)

    export = RawInputExport(copy.deepcopy(net), mean, std).eval()
    path = os.path.join(args.out, 'admn.onnx')
    dummy = tuple(torch.zeros(1, har.N_CH, har.WINDOW) for _ in har.MODALITIES)
    torch.onnx.export(export, dummy, path, opset_version=13, input_names=har.MODALITIES,
                      output_names=[f'{m}_logits' for m in har.MODALITIES] + ['fused_logits'], do_constant_folding=True)
    blocks = declare_blocks(path)
    print(f'wrote {path}: {len(blocks)} blocks')
    metrics_path = os.path.join(args.out, 'metrics.json')
    metrics = json.load(open(metrics_path)) if os.path.exists(metrics_path) else {}
    metrics['admn'] = {'test_accuracy_fp32_by_depth': by_depth, 'blocks_per_modality': BLOCKS,
                       'hyperparameters': {k: v for k, v in vars(args).items() if k not in ('archive', 'work', 'out')},
                       'seconds_total': round(time.time() - t_start, 1)}
    with open(metrics_path, 'w') as f:
        json.dump(metrics, f, indent=1)


if __name__ == '__main__':
    main()
