#!/usr/bin/python3
"""Train and export dsa-har-lstm: a DeepConvLSTM-style model on the dsa-har data (19 activities, five IMUs).

Data, split, training windows, augmentation and the raw-input export are those of ../dsa-har/train.py
(imported from there, not copied): subjects p1-p6 train, p7-p8 test, random 125-sample windows with a
random rotation of each IMU, per-channel standardisation folded into each branch's first convolution.
The calibration and test rows are ../dsa-har/calib.npz and ../dsa-har/test.npz (same inputs, same labels).

Model (DeepConvLSTM, Ordonez & Roggen 2016, reduced for a microcontroller): one small 1-D convolution
branch per IMU (9 -> c1 -> c2 channels, kernel 5, stride 2, no padding, ReLU), the five branches'
features concatenated per time step (5 * c2 values, 29 steps), one LSTM (or GRU with --cell gru) over
those 29 steps (batch_first), and a dense 19-way head on its last hidden state h_n. One output, `fused_logits`.

Outputs, next to this script: model.onnx (opset 13), metrics.json.
Run (CPU, one thread, a few minutes):  nice /usr/bin/python3 examples/dsa-har-lstm/train.py
"""

import argparse
import copy
import importlib.util
import json
import math
import os
import time

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location('dsa_har', os.path.join(HERE, '..', 'dsa-har', 'train.py'))
dsa = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(dsa)

MODALITIES, N_CH, WINDOW, N_CLASSES = dsa.MODALITIES, dsa.N_CH, dsa.WINDOW, dsa.N_CLASSES


class ConvLstmNet(nn.Module):
    """Per-IMU conv branches -> concat over channels per time step -> LSTM/GRU -> dense on the last step.
    Works on standardised inputs [b, 5, 9, 125] (what dsa.RandomWindows yields)."""

    def __init__(self, c1=16, c2=16, hidden=32, kernel=5, cell='lstm'):
        super().__init__()
        for m in MODALITIES:
            setattr(self, m, nn.Sequential(nn.Conv1d(N_CH, c1, kernel, stride=2), nn.ReLU(),
                                           nn.Conv1d(c1, c2, kernel, stride=2), nn.ReLU()))
        rnn = nn.LSTM if cell == 'lstm' else nn.GRU
        self.rnn = rnn(5 * c2, hidden, batch_first=True)
        self.drop = nn.Dropout(0.2)
        self.fc = nn.Linear(hidden, N_CLASSES)

    def features(self, xs):
        feats = torch.cat([getattr(self, m)(x) for m, x in zip(MODALITIES, xs)], 1)   # [b, 5*c2, T]
        _, state = self.rnn(feats.transpose(1, 2))                 # batch_first: [b, T, 5*c2] in
        h_last = state[0] if isinstance(state, tuple) else state    # h_n [1, b, hidden] (LSTM: (h_n, c_n))
        return h_last.squeeze(0)                                    # the last step's hidden state [b, hidden]

    def forward(self, x):
        return self.fc(self.drop(self.features([x[:, m] for m in range(5)])))


class RawInputExport(nn.Module):
    """Five raw-unit inputs [1, 9, 125] -> fused_logits [1, 19]; standardisation folded into each
    branch's first convolution exactly as in ../dsa-har (no padding there, so the fold is exact)."""

    def __init__(self, net, mean, std):
        super().__init__()
        self.net = net
        with torch.no_grad():
            for i, m in enumerate(MODALITIES):
                conv = getattr(net, m)[0]
                mu = torch.from_numpy(mean[i * N_CH:(i + 1) * N_CH]).double()
                sd = torch.from_numpy(std[i * N_CH:(i + 1) * N_CH]).double()
                w_raw = conv.weight.double() / sd[None, :, None]
                b_raw = conv.bias.double() - (w_raw * mu[None, :, None]).sum(dim=(1, 2))
                conv.weight.copy_(w_raw.float())
                conv.bias.copy_(b_raw.float())

    def forward(self, torso, right_arm, left_arm, right_leg, left_leg):
        return self.net.fc(self.net.features([torso, right_arm, left_arm, right_leg, left_leg]))


def train(net, windows, args):
    gen = torch.Generator().manual_seed(args.seed + 1)
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    steps = math.ceil(args.windows_per_epoch / args.batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=args.epochs * steps, pct_start=0.15)
    for epoch in range(args.epochs):
        net.train()
        t0, loss_sum, n = time.time(), 0.0, 0
        for x, y in windows.epoch(args.windows_per_epoch, args.batch):
            if args.noise_max > 0:
                x = dsa.add_modality_noise(x, args.noise_max, args.noise_p, gen)
            loss = F.cross_entropy(net(x), y, label_smoothing=0.05)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(net.parameters(), 5.0)
            opt.step()
            sched.step()
            loss_sum += loss.item() * len(y)
            n += len(y)
        print(f'epoch {epoch + 1:3d}  loss {loss_sum / n:.4f}  ({time.time() - t0:.1f} s)', flush=True)


@torch.no_grad()
def accuracy(fn, xs, y):
    return float((fn(xs).argmax(1) == torch.from_numpy(y)).float().mean())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--archive', default=dsa.DEFAULT_ARCHIVE)
    ap.add_argument('--work', default=os.path.join(HERE, '..', 'dsa-har', 'build'), help='cache folder (git-ignored)')
    ap.add_argument('--out', default=HERE)
    ap.add_argument('--cell', choices=['lstm', 'gru'], default='lstm')
    ap.add_argument('--seed', type=int, default=7)
    ap.add_argument('--epochs', type=int, default=20)
    ap.add_argument('--windows-per-epoch', type=int, default=4560)
    ap.add_argument('--batch', type=int, default=64)
    ap.add_argument('--lr', type=float, default=4e-3)
    ap.add_argument('--weight-decay', type=float, default=1e-3)
    ap.add_argument('--noise-max', type=float, default=0.5)
    ap.add_argument('--noise-p', type=float, default=0.3)
    ap.add_argument('--rot-deg', type=float, default=30.0)
    ap.add_argument('--c1', type=int, default=16)
    ap.add_argument('--c2', type=int, default=16)
    ap.add_argument('--hidden', type=int, default=32)
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    t_start = time.time()
    rec = dsa.load_recordings(args.archive, args.work)
    train_subj, test_subj = dsa.TRAIN_SUBJECTS, dsa.TEST_SUBJECTS
    flat = rec[:, [p - 1 for p in train_subj]].reshape(-1, 5 * N_CH).astype(np.float64)
    mean, std = flat.mean(0).astype(np.float32), flat.std(0).astype(np.float32)
    windows = dsa.RandomWindows(rec, train_subj, mean, std, rng, args.rot_deg, 1.0)
    x_test, y_test, seg_test = dsa.segments_of(rec, test_subj)
    x_train, y_train, _ = dsa.segments_of(rec, train_subj)
    norm = lambda x: torch.from_numpy(((x - mean.reshape(1, 5, N_CH, 1)) / std.reshape(1, 5, N_CH, 1)).astype(np.float32))

    net = ConvLstmNet(args.c1, args.c2, args.hidden, 5, args.cell)
    n_params = sum(p.numel() for p in net.parameters())
    steps = ((WINDOW - 5) // 2 + 1 - 5) // 2 + 1
    gates = 4 if args.cell == 'lstm' else 3
    macs_conv = 5 * (((WINDOW - 5) // 2 + 1) * args.c1 * N_CH * 5 + steps * args.c2 * args.c1 * 5)
    macs_rnn = steps * gates * args.hidden * (5 * args.c2 + args.hidden)
    print(f'model: {n_params} parameters, {macs_conv + macs_rnn + args.hidden * N_CLASSES} MACs ({macs_rnn} in the {args.cell.upper()}, {steps} steps)')
    train(net, windows, args)
    t_train = time.time() - t_start
    net.eval()
    acc_train = accuracy(net, norm(x_train), y_train)
    acc_test = accuracy(net, norm(x_test), y_test)
    print(f'fp32 accuracy: train segments {acc_train:.4f}, test segments {acc_test:.4f}')

    export = RawInputExport(copy.deepcopy(net), mean, std).eval()
    raw = lambda x: export(*[torch.from_numpy(x[:, m]) for m in range(5)])
    acc_test_raw = accuracy(raw, x_test, y_test)
    it = np.nonzero(np.isin(seg_test, dsa.TEST_NPZ_SEGMENTS))[0]
    acc_npz = accuracy(raw, x_test[it], y_test[it])
    onnx_path = os.path.join(args.out, 'model.onnx')
    dummy = tuple(torch.zeros(1, N_CH, WINDOW) for _ in MODALITIES)
    torch.onnx.export(export, dummy, onnx_path, opset_version=13, input_names=MODALITIES,
                      output_names=['fused_logits'], do_constant_folding=True)
    model = onnx.load(onnx_path)
    onnx.checker.check_model(model)
    ops = sorted({n.op_type for n in model.graph.node})
    print(f'wrote {onnx_path}: ops {ops}; test.npz subset accuracy {acc_npz:.4f}')
    metrics = {
        'cell': args.cell,
        'split': {'train_subjects': train_subj, 'test_subjects': test_subj, 'test_rows': int(len(y_test)),
                  'test_npz': '../dsa-har/test.npz', 'test_npz_rows': int(len(it))},
        'hyperparameters': {k: v for k, v in vars(args).items() if k not in ('archive', 'work', 'out')},
        'accuracy_fp32': {'train_segments': acc_train, 'test': acc_test, 'test_export_raw_inputs': acc_test_raw,
                          'test_npz_subset': acc_npz},
        'cost': {'params': n_params, 'macs_conv': macs_conv, 'macs_rnn': macs_rnn, 'macs_head': args.hidden * N_CLASSES,
                 'rnn_steps': steps, 'rnn_input': 5 * args.c2, 'rnn_hidden': args.hidden},
        'onnx_ops': ops,
        'seconds_training': round(t_train, 1),
        'torch_version': torch.__version__,
    }
    with open(os.path.join(args.out, 'metrics.json'), 'w') as f:
        json.dump(metrics, f, indent=1)
    print(f'done in {time.time() - t_start:.0f} s')


if __name__ == '__main__':
    main()
