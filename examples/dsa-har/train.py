#!/usr/bin/python3
"""Train and export the dsa-har example: 19 daily and sports activities from five body-worn IMUs.

Data: UCI "Daily and Sports Activities" (Barshan & Altun), the staged subset with segments s01-s20
of every activity x subject (see ../shared/datasets/dsa_daily_sports/SOURCE.md). Each IMU is one
modality of 9 channels (acc xyz in m/s^2, gyro xyz in rad/s, mag xyz in normalised units).

Model: one small branch per IMU, the DynaFuse unimodal shape (two 1-D convolutions, then two dense
layers), each with its own 19-way head, plus a fused head: one dense layer over the concatenation
of the five branches' hidden features. Per-channel standardisation is folded into each branch's
first convolution at export, so the ONNX graph takes raw sensor readings.

Outputs, next to this script: model.onnx (opset 13), calib.npz (training subjects), test.npz (held-out
subjects, subsampled), metrics.json (accuracies, parameters, MACs, normalisation constants).

Run (CPU, one thread, a few minutes):  /usr/bin/python3 examples/dsa-har/train.py
"""

import argparse
import copy
import json
import math
import os
import tarfile
import time

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
DEFAULT_ARCHIVE = os.path.join(REPO, '..', 'shared', 'datasets', 'dsa_daily_sports', 'dsa_data_s01-s20.tar.xz')

# Column blocks of the UCI files, in file order; these are also the ONNX input names.
MODALITIES = ['torso', 'right_arm', 'left_arm', 'right_leg', 'left_leg']
CHANNELS = ['acc_x', 'acc_y', 'acc_z', 'gyro_x', 'gyro_y', 'gyro_z', 'mag_x', 'mag_y', 'mag_z']
ACTIVITIES = [
    'sitting', 'standing', 'lying on back', 'lying on right side', 'ascending stairs', 'descending stairs',
    'standing still in an elevator', 'moving around in an elevator', 'walking in a parking lot',
    'treadmill walking 4 km/h flat', 'treadmill walking 4 km/h 15 deg incline', 'treadmill running 8 km/h',
    'stepper', 'cross trainer', 'exercise bike horizontal', 'exercise bike vertical', 'rowing', 'jumping',
    'playing basketball',
]
N_CLASSES = len(ACTIVITIES)
N_SUBJECTS = 8
N_SEGMENTS = 20          # s01-s20 in the staged subset
WINDOW = 125             # 5 s at 25 Hz: one UCI segment
N_CH = len(CHANNELS)

TRAIN_SUBJECTS = [1, 2, 3, 4, 5, 6]
TEST_SUBJECTS = [7, 8]
CALIB_SEGMENTS = [5, 15]                 # rows of calib.npz, per activity x training subject
TEST_NPZ_SEGMENTS = [2, 6, 10, 14, 18]   # rows of test.npz, per activity x test subject


# ----------------------------------------------------------------------------------------------
# Data


def load_recordings(archive, cache_dir):
    """All segments as continuous recordings: float32 [activity 19, subject 8, 20*125 samples, 45].

    The 20 segments of one activity x subject are consecutive 5-s pieces of one recording, so
    joining them gives 100 s of signal; training draws windows at any offset from it. Parsed
    once from the tar.xz (streamed, never extracted into the repo) and cached as .npy.
    """
    cache = os.path.join(cache_dir, 'dsa_s01-s20.npy')
    if os.path.exists(cache):
        return np.load(cache)
    rec = np.full((N_CLASSES, N_SUBJECTS, N_SEGMENTS * WINDOW, 5 * N_CH), np.nan, dtype=np.float32)
    with tarfile.open(archive, 'r:xz') as tar:
        for member in tar:
            if not member.isfile() or not member.name.endswith('.txt'):
                continue
            parts = member.name.split('/')        # data/aAA/pP/sSS.txt
            a, p, s = int(parts[-3][1:]), int(parts[-2][1:]), int(parts[-1][1:3])
            if s > N_SEGMENTS:
                continue
            seg = np.loadtxt(tar.extractfile(member), delimiter=',', dtype=np.float64)
            assert seg.shape == (WINDOW, 5 * N_CH), (member.name, seg.shape)
            rec[a - 1, p - 1, (s - 1) * WINDOW:s * WINDOW] = seg
    if np.isnan(rec).any():
        raise SystemExit(f'{archive}: some segments are missing (expected all 19 x 8 x s01-s20)')
    os.makedirs(cache_dir, exist_ok=True)
    np.save(cache, rec)
    return rec


def segments_of(rec, subjects):
    """The original non-overlapping UCI segments, ordered by activity, subject, segment:
    X [n, 5, 9, 125] (modality, channel, time), activity y [n], segment number 1..20 [n]."""
    xs, ys, segs = [], [], []
    for a in range(N_CLASSES):
        for p in subjects:
            r = rec[a, p - 1].reshape(N_SEGMENTS, WINDOW, 5, N_CH)      # [seg, t, modality, ch]
            xs.append(r.transpose(0, 2, 3, 1))
            ys.append(np.full(N_SEGMENTS, a, dtype=np.int64))
            segs.append(np.arange(1, N_SEGMENTS + 1))
    return np.concatenate(xs), np.concatenate(ys), np.concatenate(segs)


class RandomWindows:
    """Training batches of 125-sample windows at random offsets inside each 100-s recording,
    optionally with each IMU's axes rotated by a small random rotation (the same one for its
    accelerometer, gyroscope and magnetometer, as if the unit sat slightly differently on the
    body: subjects differ in exactly this), then standardised."""

    def __init__(self, rec, subjects, mean, std, rng, rot_deg, rot_p):
        r = rec[:, [p - 1 for p in subjects]]          # raw units
        n_t = r.shape[2]
        # [activity, subject, modality, channel, time]
        self.data = torch.from_numpy(np.ascontiguousarray(
            r.reshape(N_CLASSES, len(subjects), n_t, 5, N_CH).transpose(0, 1, 3, 4, 2)))
        self.mean = torch.from_numpy(mean.reshape(1, 5, N_CH, 1))
        self.std = torch.from_numpy(std.reshape(1, 5, N_CH, 1))
        self.n_t = n_t
        self.rng = rng
        self.rot = math.radians(rot_deg)
        self.rot_p = rot_p

    def random_rotations(self, n):
        """[n, 5, 3, 3]: with probability rot_p, a rotation about a uniformly random axis by an
        angle ~ U(-rot, rot); otherwise the identity."""
        axis = self.rng.normal(size=(n, 5, 3))
        axis /= np.linalg.norm(axis, axis=-1, keepdims=True)
        ang = self.rng.uniform(-self.rot, self.rot, size=(n, 5, 1, 1))
        if self.rot_p < 1:       # no extra draws otherwise: keeps the default run's random stream
            ang *= self.rng.uniform(size=(n, 5, 1, 1)) < self.rot_p
        k = np.zeros((n, 5, 3, 3))
        k[..., 0, 1], k[..., 0, 2], k[..., 1, 2] = -axis[..., 2], axis[..., 1], -axis[..., 0]
        k = k - np.swapaxes(k, -1, -2)
        eye = np.eye(3)[None, None]
        rmat = eye + np.sin(ang) * k + (1 - np.cos(ang)) * (k @ k)    # Rodrigues
        return torch.from_numpy(rmat.astype(np.float32))

    def epoch(self, n_windows, batch):
        """Yields (x [b, 5, 9, 125] standardised, y [b]); classes and subjects drawn uniformly."""
        a = self.rng.integers(0, N_CLASSES, n_windows)
        p = self.rng.integers(0, self.data.shape[1], n_windows)
        t0 = self.rng.integers(0, self.n_t - WINDOW + 1, n_windows)
        idx = torch.from_numpy(t0[:, None] + np.arange(WINDOW)[None, :])   # [n, 125]
        for i in range(0, n_windows, batch):
            sl = slice(i, i + batch)
            d = self.data[torch.from_numpy(a[sl]), torch.from_numpy(p[sl])]  # [b, 5, 9, T]
            x = torch.gather(d, 3, idx[sl][:, None, None, :].expand(-1, 5, N_CH, -1))
            if self.rot > 0:
                rmat = self.random_rotations(x.shape[0])
                b = x.shape[0]
                x = torch.einsum('bmij,bmsjt->bmsit', rmat, x.reshape(b, 5, 3, 3, WINDOW)).reshape(b, 5, N_CH, WINDOW)
            yield (x - self.mean) / self.std, torch.from_numpy(a[sl])


# ----------------------------------------------------------------------------------------------
# Model


class Branch(nn.Module):
    """One IMU: conv(9->c1, k, /2) ReLU, conv(c1->c2, k, /2) ReLU, global average pool,
    dense(c2->hidden) ReLU, dense(hidden->19). No padding in the first conv, so the
    standardisation folds into it exactly (a padded zero would mean 'the mean' only after folding)."""

    def __init__(self, c1, c2, hidden, kernel):
        super().__init__()
        self.conv1 = nn.Conv1d(N_CH, c1, kernel, stride=2)
        self.conv2 = nn.Conv1d(c1, c2, kernel, stride=2)
        self.pool = nn.AdaptiveAvgPool1d(1)      # exports as GlobalAveragePool
        self.fc1 = nn.Linear(c2, hidden)
        self.fc2 = nn.Linear(hidden, N_CLASSES)
        self.drop = nn.Dropout(0.2)

    def forward(self, x):
        h = F.relu(self.conv1(x))
        h = F.relu(self.conv2(h))
        h = torch.flatten(self.pool(h), 1)
        feat = F.relu(self.fc1(h))
        return feat, self.fc2(self.drop(feat))


class MultiImuNet(nn.Module):
    """Five branches (one per IMU) with their own heads, plus a fused head: a dense layer over the
    concatenated hidden features of all branches. Works on standardised inputs [b, 5, 9, 125]."""

    def __init__(self, c1=16, c2=32, hidden=32, kernel=5, modality_dropout=0.0):
        super().__init__()
        for m in MODALITIES:     # attributes named after the modality: ONNX nodes read "/torso/conv1/Conv"
            setattr(self, m, Branch(c1, c2, hidden, kernel))
        self.fused = nn.Linear(hidden * len(MODALITIES), N_CLASSES)
        self.drop = nn.Dropout(0.2)
        self.modality_dropout = modality_dropout

    @property
    def branches(self):
        return [getattr(self, m) for m in MODALITIES]

    def forward(self, x):
        feats, logits = [], []
        for m, branch in enumerate(self.branches):
            f, l = branch(x[:, m])
            feats.append(f)
            logits.append(l)
        if self.training and self.modality_dropout > 0:
            # Drop whole branches from the fused head's input (inverted-dropout scaling), so it
            # cannot lean on the one branch that separates the training subjects best.
            keep = (torch.rand(x.shape[0], len(feats), 1) >= self.modality_dropout).float()
            keep = keep / (1 - self.modality_dropout)
            feats = [f * keep[:, i] for i, f in enumerate(feats)]
        logits.append(self.fused(self.drop(torch.cat(feats, 1))))
        return logits          # 5 per-modality heads, then the fused head


class RawInputExport(nn.Module):
    """The graph that is exported: five raw-unit inputs [1, 9, 125], six logits outputs.

    Standardisation x' = (x - mean) / std is folded into each first conv:
    W'[o,c,k] = W[o,c,k] / std[c],  b'[o] = b[o] - sum_{c,k} W[o,c,k] * mean[c] / std[c]."""

    def __init__(self, net, mean, std):
        super().__init__()
        for m in MODALITIES:
            setattr(self, m, getattr(net, m))
        self.fused = net.fused
        with torch.no_grad():
            for m, branch in enumerate(net.branches):
                mu = torch.from_numpy(mean[m * N_CH:(m + 1) * N_CH]).double()
                sd = torch.from_numpy(std[m * N_CH:(m + 1) * N_CH]).double()
                w = branch.conv1.weight.double()
                b = branch.conv1.bias.double()
                w_raw = w / sd[None, :, None]
                b_raw = b - (w_raw * mu[None, :, None]).sum(dim=(1, 2))
                branch.conv1.weight.copy_(w_raw.float())
                branch.conv1.bias.copy_(b_raw.float())

    def forward(self, torso, right_arm, left_arm, right_leg, left_leg):
        feats, logits = [], []
        for m, x in zip(MODALITIES, (torso, right_arm, left_arm, right_leg, left_leg)):
            f, l = getattr(self, m)(x)
            feats.append(f)
            logits.append(l)
        logits.append(self.fused(torch.cat(feats, 1)))
        return tuple(logits)


def count_cost(net):
    """Parameters and multiply-accumulates per head, from the layer shapes (batch 1).

    A modality head runs its own branch; the fused head runs all five branch trunks (conv1,
    conv2, fc1) plus the fused dense, but not the five per-modality output layers."""
    b = net.branches[0]
    l1 = (WINDOW - b.conv1.kernel_size[0]) // b.conv1.stride[0] + 1
    l2 = (l1 - b.conv2.kernel_size[0]) // b.conv2.stride[0] + 1
    macs = {
        'conv1': l1 * b.conv1.out_channels * b.conv1.in_channels * b.conv1.kernel_size[0],
        'conv2': l2 * b.conv2.out_channels * b.conv2.in_channels * b.conv2.kernel_size[0],
        'pool': 0,   # additions only
        'fc1': b.fc1.in_features * b.fc1.out_features,
        'fc2': b.fc2.in_features * b.fc2.out_features,
    }
    params = {name: sum(p.numel() for p in getattr(b, name).parameters()) for name in ['conv1', 'conv2', 'fc1', 'fc2']}
    trunk_p = params['conv1'] + params['conv2'] + params['fc1']
    trunk_m = macs['conv1'] + macs['conv2'] + macs['fc1']
    fused_p = sum(p.numel() for p in net.fused.parameters())
    fused_m = net.fused.in_features * net.fused.out_features
    heads = {m: {'params': trunk_p + params['fc2'], 'macs': trunk_m + macs['fc2']} for m in MODALITIES}
    heads['fused'] = {'params': 5 * trunk_p + fused_p, 'macs': 5 * trunk_m + fused_m}
    total_p = sum(p.numel() for p in net.parameters())
    total_m = 5 * (trunk_m + macs['fc2']) + fused_m
    return {
        'branch_layers': {'lengths': {'input': WINDOW, 'conv1': l1, 'conv2': l2}, 'params': params, 'macs': macs},
        'heads': heads,
        'whole_model': {'params': total_p, 'macs': total_m},
    }


# ----------------------------------------------------------------------------------------------
# Training and evaluation


def add_modality_noise(x, sigma_max, p_noisy, gen):
    """Per sample and per modality independently: with probability p_noisy, add Gaussian noise
    with sigma ~ U(0, sigma_max) (normalised units), so each head sees corrupted inputs of its
    own modality and the fused head learns to lean on the clean ones."""
    b = x.shape[0]
    noisy = (torch.rand(b, 5, generator=gen) < p_noisy).float()
    sigma = torch.rand(b, 5, generator=gen) * sigma_max * noisy
    return x + sigma[:, :, None, None] * torch.randn(x.shape, generator=gen)


def train(net, windows, args, log):
    gen = torch.Generator().manual_seed(args.seed + 1)
    opt = torch.optim.AdamW(net.parameters(), lr=args.lr, weight_decay=args.weight_decay)
    steps_per_epoch = math.ceil(args.windows_per_epoch / args.batch)
    total = args.epochs * steps_per_epoch
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr, total_steps=total, pct_start=0.15)
    for epoch in range(args.epochs):
        net.train()
        t0 = time.time()
        loss_sum, n = 0.0, 0
        for x, y in windows.epoch(args.windows_per_epoch, args.batch):
            if args.noise_max > 0:
                x = add_modality_noise(x, args.noise_max, args.noise_p, gen)
            logits = net(x)
            loss = sum(F.cross_entropy(l, y, label_smoothing=0.05) for l in logits) / len(logits)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            loss_sum += loss.item() * len(y)
            n += len(y)
        if log and (epoch % 5 == 4 or epoch == args.epochs - 1):
            log(f'epoch {epoch + 1:3d}  loss {loss_sum / n:.4f}  ({time.time() - t0:.1f} s)')


@torch.no_grad()
def evaluate(net, x_norm, y, noise=None):
    """Accuracy of every head. x_norm: standardised [n, 5, 9, 125]. noise: optional
    (sigma, modality index or None for all, seed): Gaussian noise in normalised units."""
    net.eval()
    x = torch.from_numpy(x_norm)
    if noise is not None:
        sigma, which, seed = noise
        g = torch.Generator().manual_seed(seed)
        eps = torch.randn(x.shape, generator=g) * sigma
        if which is not None:
            mask = torch.zeros(1, 5, 1, 1)
            mask[0, which] = 1
            eps = eps * mask
        x = x + eps
    yt = torch.from_numpy(y)
    names = MODALITIES + ['fused']
    logits = net(x)
    acc = {name: float((l.argmax(1) == yt).float().mean()) for name, l in zip(names, logits)}
    # For comparison only (not exported): late fusion by averaging the five heads' log-probabilities.
    mean_lp = torch.stack([F.log_softmax(l, 1) for l in logits[:5]]).mean(0)
    acc['mean_of_heads'] = float((mean_lp.argmax(1) == yt).float().mean())
    return acc


@torch.no_grad()
def top_confusions(net, x_norm, y):
    """The fused head's errors on clean data, as (true, predicted, count), most frequent first."""
    net.eval()
    pred = net(torch.from_numpy(x_norm))[-1].argmax(1).numpy()
    pairs = {}
    for t, p in zip(y, pred):
        if t != p:
            pairs[(int(t), int(p))] = pairs.get((int(t), int(p)), 0) + 1
    return [(ACTIVITIES[t], ACTIVITIES[p], n) for (t, p), n in sorted(pairs.items(), key=lambda kv: -kv[1])]


@torch.no_grad()
def raw_input_accuracy(export, x_raw, y):
    """Accuracy of every head of the export graph (raw-unit inputs [n, 5, 9, 125])."""
    xr = torch.from_numpy(x_raw)
    out = export(*[xr[:, m] for m in range(5)])
    yt = torch.from_numpy(y)
    return {name: float((l.argmax(1) == yt).float().mean()) for name, l in zip(MODALITIES + ['fused'], out)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument('--archive', default=DEFAULT_ARCHIVE, help='dsa_data_s01-s20.tar.xz')
    ap.add_argument('--work', default=os.path.join(HERE, 'build'), help='cache folder (git-ignored)')
    ap.add_argument('--out', default=HERE, help='where model.onnx, calib.npz, test.npz, metrics.json go')
    ap.add_argument('--seed', type=int, default=7)
    ap.add_argument('--epochs', type=int, default=40)
    ap.add_argument('--windows-per-epoch', type=int, default=4560)
    ap.add_argument('--batch', type=int, default=64)
    ap.add_argument('--lr', type=float, default=3e-3)
    ap.add_argument('--weight-decay', type=float, default=1e-3)
    ap.add_argument('--noise-max', type=float, default=1.0, help='training noise: sigma ~ U(0, this), normalised units')
    ap.add_argument('--noise-p', type=float, default=0.5, help='probability a modality of a sample gets noise')
    ap.add_argument('--rot-deg', type=float, default=30.0, help='training: random rotation of each IMU up to this angle')
    ap.add_argument('--rot-p', type=float, default=1.0, help='training: probability that an IMU of a window is rotated')
    ap.add_argument('--modality-dropout', type=float, default=0.4, help='training: drop each branch from the fused input with this probability')
    ap.add_argument('--c1', type=int, default=16)
    ap.add_argument('--c2', type=int, default=32)
    ap.add_argument('--hidden', type=int, default=32)
    ap.add_argument('--kernel', type=int, default=5)
    ap.add_argument('--train-subjects', default=','.join(map(str, TRAIN_SUBJECTS)))
    ap.add_argument('--test-subjects', default=','.join(map(str, TEST_SUBJECTS)))
    ap.add_argument('--no-export', action='store_true', help='train and evaluate only (for experiments)')
    args = ap.parse_args()

    torch.set_num_threads(1)      # teammates share the CPU
    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    train_subj = [int(s) for s in args.train_subjects.split(',')]
    test_subj = [int(s) for s in args.test_subjects.split(',')]
    t_start = time.time()

    rec = load_recordings(args.archive, args.work)
    print(f'data: {rec.shape} loaded in {time.time() - t_start:.1f} s')

    # Per-channel standardisation from the training subjects only (all samples of s01-s20).
    flat = rec[:, [p - 1 for p in train_subj]].reshape(-1, 5 * N_CH).astype(np.float64)
    mean = flat.mean(0).astype(np.float32)
    std = flat.std(0).astype(np.float32)

    windows = RandomWindows(rec, train_subj, mean, std, rng, args.rot_deg, args.rot_p)
    x_test, y_test, seg_test = segments_of(rec, test_subj)
    x_train_seg, y_train_seg, seg_train = segments_of(rec, train_subj)
    norm = lambda x: ((x - mean.reshape(1, 5, N_CH, 1)) / std.reshape(1, 5, N_CH, 1)).astype(np.float32)

    net = MultiImuNet(args.c1, args.c2, args.hidden, args.kernel, args.modality_dropout)
    cost = count_cost(net)
    print(f'model: {cost["whole_model"]["params"]} parameters, {cost["whole_model"]["macs"]} MACs')
    train(net, windows, args, print)
    t_train = time.time() - t_start

    acc_train = evaluate(net, norm(x_train_seg), y_train_seg)
    acc_test = evaluate(net, norm(x_test), y_test)
    confusions = top_confusions(net, norm(x_test), y_test)
    print('train segments:', {k: round(v, 4) for k, v in acc_train.items()})
    print('test  segments:', {k: round(v, 4) for k, v in acc_test.items()})
    print('fused head, most frequent errors on test:', confusions[:6])

    # Robustness: Gaussian noise (normalised units) on one modality at a time, and on all.
    sigmas = [0.0, 0.5, 1.0, 1.5, 2.0]
    robustness = {}
    for which in list(range(5)) + [None]:
        key = MODALITIES[which] if which is not None else 'all'
        robustness[key] = {}
        for s in sigmas:
            r = evaluate(net, norm(x_test), y_test, noise=(s, which, 1000 + int(s * 10)))
            # the head of the noisy modality, and the fused head
            robustness[key][str(s)] = {'own_head': r[key] if which is not None else None, 'fused': r['fused']}
            if which is None:
                robustness[key][str(s)]['heads'] = r
        print(f'noise on {key:9s}:', '  '.join(
            f's={s}: own {robustness[key][str(s)]["own_head"] if which is not None else float("nan"):.3f}'
            f' fused {robustness[key][str(s)]["fused"]:.3f}' for s in sigmas))

    if args.no_export:
        return

    # ---- export ------------------------------------------------------------------------------
    net.eval()
    export = RawInputExport(copy.deepcopy(net), mean, std).eval()   # folds into a copy; net stays as trained
    # Check the folding: raw inputs through the export == standardised inputs through the net.
    with torch.no_grad():
        xr = torch.from_numpy(x_test[:64])
        a = export(*[xr[:, m] for m in range(5)])
        b = net(torch.from_numpy(norm(x_test[:64])))
        fold_err = max(float((u - v).abs().max()) for u, v in zip(a, b))
    print(f'folded standardisation: max |logit difference| = {fold_err:.2e}')
    acc_test_raw = raw_input_accuracy(export, x_test, y_test)

    onnx_path = os.path.join(args.out, 'model.onnx')
    dummy = tuple(torch.zeros(1, N_CH, WINDOW) for _ in MODALITIES)
    out_names = [f'{m}_logits' for m in MODALITIES] + ['fused_logits']
    torch.onnx.export(export, dummy, onnx_path, opset_version=13, input_names=MODALITIES,
                      output_names=out_names, do_constant_folding=True)
    model = onnx.load(onnx_path)
    onnx.checker.check_model(model)
    ops = sorted({n.op_type for n in model.graph.node})
    print(f'wrote {onnx_path}: ops {ops}')

    # calib.npz: segments s05 and s15 of every class x training subject (228 rows), raw units.
    ic = np.nonzero(np.isin(seg_train, CALIB_SEGMENTS))[0]
    np.savez_compressed(os.path.join(args.out, 'calib.npz'),
                        **{m: x_train_seg[ic, i] for i, m in enumerate(MODALITIES)},
                        labels=y_train_seg[ic])
    # test.npz: segments s02, s06, s10, s14, s18 of every class x test subject (190 of 760 rows):
    # the whole test split would be 17 MB of float32.
    it = np.nonzero(np.isin(seg_test, TEST_NPZ_SEGMENTS))[0]
    np.savez_compressed(os.path.join(args.out, 'test.npz'),
                        **{m: x_test[it, i] for i, m in enumerate(MODALITIES)},
                        labels=y_test[it])
    acc_test_subset = raw_input_accuracy(export, x_test[it], y_test[it])
    print('test.npz subset:', {k: round(v, 4) for k, v in acc_test_subset.items()})

    # The firmware quantizes each raw input per tensor (one scale for all 9 channels); the
    # accelerometer (std ~5 m/s^2) sets the range, so gyroscope and magnetometer (std ~0.3-1)
    # keep only a few levels. Simulate that (range from calib.npz, 8 bits, asymmetric) to see
    # what it costs, in float, before any weight quantization.
    xq = x_test.copy()
    for i in range(5):
        lo, hi = min(0.0, float(x_train_seg[ic, i].min())), max(0.0, float(x_train_seg[ic, i].max()))
        scale = (hi - lo) / 255
        zp = round(-128 - lo / scale)
        q = np.clip(np.round(x_test[:, i] / scale) + zp, -128, 127)
        xq[:, i] = ((q - zp) * scale).astype(np.float32)
    acc_test_input_q8 = raw_input_accuracy(export, xq, y_test)
    print('test, inputs quantized per tensor to 8 bits:', {k: round(v, 4) for k, v in acc_test_input_q8.items()})

    metrics = {
        'split': {'train_subjects': train_subj, 'test_subjects': test_subj,
                  'train_windows': 'random 125-sample windows from the 100-s recordings of the training subjects',
                  'test_rows': int(len(y_test)), 'test_npz_rows': int(len(it)), 'calib_npz_rows': int(len(ic))},
        'hyperparameters': {k: v for k, v in vars(args).items() if k not in ('archive', 'work', 'out', 'no_export')},
        'accuracy_fp32': {'train_segments': acc_train, 'test': acc_test, 'test_export_raw_inputs': acc_test_raw,
                          'test_npz_subset': acc_test_subset, 'test_inputs_int8_per_tensor': acc_test_input_q8},
        'fused_errors_test': confusions,
        'noise_robustness_test': robustness,
        'cost': cost,
        'normalisation': {m: {'channels': CHANNELS,
                              'mean': [float(v) for v in mean[i * N_CH:(i + 1) * N_CH]],
                              'std': [float(v) for v in std[i * N_CH:(i + 1) * N_CH]]}
                          for i, m in enumerate(MODALITIES)},
        'fold_check_max_abs_logit_diff': fold_err,
        'onnx_ops': ops,
        'seconds_total': round(time.time() - t_start, 1),
        'seconds_training': round(t_train, 1),
        'torch_version': torch.__version__,
    }
    with open(os.path.join(args.out, 'metrics.json'), 'w') as f:
        json.dump(metrics, f, indent=1)
    print(f'done in {time.time() - t_start:.0f} s')


if __name__ == '__main__':
    main()
