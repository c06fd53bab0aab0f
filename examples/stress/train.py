#!/usr/bin/env python3
"""Stress-state classifier for tinym2: PhysioNet Non-EEG wrist data, three modality branches + a fused head.

Run (CPU, single thread, a few minutes):  nice /usr/bin/python3 examples/stress/train.py [--cv] [--out DIR]

Writes model.onnx (opset 13), calib.npz, test.npz and metrics.json next to this script (or to --out).
With --cv it also runs 5-fold leave-4-subjects-out cross-validation first and records every head's
accuracy per fold, to show how much the figures of the one committed split vary.

Data: ../../../shared/datasets/noneeg_stress (WFDB records, parsed here with numpy; see SOURCE.md there).
"""
import argparse
import json
import os
import re
import sys
import time

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.normpath(os.path.join(HERE, '..', '..', '..', 'shared', 'datasets', 'noneeg_stress'))

CLASSES = ['Relax', 'PhysicalStress', 'CognitiveStress', 'EmotionalStress']
FS_WRIST = 8            # Hz: acc, temp, EDA
FS_CARDIO = 1           # Hz: SpO2, HR
WINDOW_S = 60           # window length, seconds
HOP_S = 10              # window hop, seconds (train and test)
SUBJECTS = list(range(1, 21))
FOLDS = [[k + 1, k + 6, k + 11, k + 16] for k in range(5)]   # interleaved groups of 4 subjects
TEST_FOLD = 0                                                # committed split: subjects 1, 6, 11, 16
EPOCHS = 40
SEED = 0
AUGMENT = True          # random per-window baseline shifts / gains (see augment())
POOL = 2                # max-pool after conv2, before the flatten
QAT_BITS = 8            # train with weights rounded as tinym2's INT8 will round them (0: float)

# Graph inputs, in order: name, record channels, sampling rate.
MODALITIES = [
    ('motion', ['ax', 'ay', 'az'], FS_WRIST),          # g
    ('eda_temp', ['EDA', 'temp'], FS_WRIST),          # µS, °C
    ('cardio', ['hr', 'SpO2'], FS_CARDIO),            # bpm, %
]


# ------------------------------------------------------------------------------------------ WFDB
def read_header(path):
    """WFDB .hea: record line, then one line per signal with gain(baseline)/units and a description."""
    lines = [l for l in open(path).read().splitlines() if l.strip() and not l.startswith('#')]
    record = lines[0].split()
    nsig, fs, nsamp = int(record[1]), float(record[2]), int(record[3])
    gains, baselines, names = [], [], []
    for line in lines[1:1 + nsig]:
        f = line.split()
        assert f[1] == '16', f'{path}: only WFDB format 16 is handled, got {f[1]}'
        m = re.match(r'([-+\d.eE]+)(?:\(([-\d]+)\))?(?:/(\S+))?$', f[2])
        gain = float(m.group(1)) or 200.0                  # WFDB: gain 0 means the default 200
        baseline = int(m.group(2)) if m.group(2) is not None else int(f[4])   # else the ADC zero
        gains.append(gain), baselines.append(baseline), names.append(f[8])
    return fs, nsamp, np.array(gains), np.array(baselines), names


def read_record(stem):
    """Physical values [samples, channels] (float64) and channel names of one WFDB record."""
    fs, nsamp, gains, baselines, names = read_header(os.path.join(DATA, stem + '.hea'))
    raw = np.fromfile(os.path.join(DATA, stem + '.dat'), dtype='<i2')
    raw = raw[:nsamp * len(names)].reshape(nsamp, len(names)).astype(np.float64)
    return (raw - baselines) / gains, names, fs


def read_annotations(stem):
    """MIT-format .atr: 16-bit little-endian words, annotation type in the top 6 bits, time step
    (or byte count) in the low 10. SKIP (59) carries a 32-bit step (high word first), AUX (63)
    carries the segment label text. Returns [(sample, label)]."""
    words = np.fromfile(os.path.join(DATA, stem + '.atr'), dtype='<u2')
    t, out, i = 0, [], 0
    while i < len(words):
        code, value = int(words[i]) >> 10, int(words[i]) & 0x3FF
        i += 1
        if code == 0 and value == 0:
            break
        if code == 59:                                  # SKIP
            t += (int(words[i]) << 16) | int(words[i + 1])
            i += 2
        elif code == 63:                                # AUX text of the previous annotation
            nwords = (value + 1) // 2
            out[-1][1] = words[i:i + nwords].tobytes()[:value].decode('ascii').rstrip('\0')
            i += nwords
        elif code in (60, 61, 62):                      # NUM, SUB, CHN: no time step
            pass
        else:
            t += value
            out.append([t, None])
    return [(s, label) for s, label in out]


# --------------------------------------------------------------------------------------- windows
def subject_windows(subject):
    """All windows of one subject that lie wholly inside one annotated segment.

    Window starts are on whole seconds so the 1 Hz cardio record lines up with the 8 Hz record
    (both records start together; the cardio one just runs a few seconds longer)."""
    wrist, wrist_names, fs = read_record(f'Subject{subject}_AccTempEDA')
    cardio, cardio_names, fs_c = read_record(f'Subject{subject}_SpO2HR')
    assert fs == FS_WRIST and fs_c == FS_CARDIO
    segments = read_annotations(f'Subject{subject}_AccTempEDA')
    bounds = [s for s, _ in segments[1:]] + [len(wrist)]
    n8, n1, hop8 = WINDOW_S * FS_WRIST, WINDOW_S * FS_CARDIO, HOP_S * FS_WRIST
    columns = {m: [(wrist_names if fs_m == FS_WRIST else cardio_names).index(c) for c in chans]
               for m, chans, fs_m in MODALITIES}
    xs = {m: [] for m, _, _ in MODALITIES}
    labels = []
    for (start, label), end in zip(segments, bounds):
        s = -(-start // FS_WRIST) * FS_WRIST            # first whole second inside the segment
        while s + n8 <= end and s // FS_WRIST + n1 <= len(cardio):
            for m, _, fs_m in MODALITIES:
                if fs_m == FS_WRIST:
                    xs[m].append(wrist[s:s + n8, columns[m]].T)
                else:
                    c0 = s // FS_WRIST
                    xs[m].append(cardio[c0:c0 + n1, columns[m]].T)
            labels.append(CLASSES.index(label))
            s += hop8
    return {m: np.stack(v).astype(np.float32) for m, v in xs.items()}, np.array(labels, np.int64)


def load_all():
    data = {}
    for subject in SUBJECTS:
        data[subject] = subject_windows(subject)
    return data


def gather(data, subjects):
    xs = {m: np.concatenate([data[s][0][m] for s in subjects]) for m, _, _ in MODALITIES}
    y = np.concatenate([data[s][1] for s in subjects])
    return xs, y


# ----------------------------------------------------------------------------------------- model
def fake_quant(w, bits):
    """Symmetric per-output-channel rounding of a weight to `bits` (tinym2's weight format), with a
    straight-through gradient. Idempotent: the largest weight of a channel stays on the grid."""
    if not bits:
        return w
    q = 2 ** (bits - 1) - 1
    scale = w.detach().abs().flatten(1).amax(dim=1).clamp_min(1e-12) / q
    scale = scale.view(-1, *[1] * (w.dim() - 1))
    return w + (torch.round(w / scale) * scale - w).detach()


class Branch(nn.Module):
    """The DynaFuse unimodal shape: two Conv1d, then two Linear layers.

    The input arrives in the dataset's units. A fixed per-channel affine (training-set mean / std)
    normalises it, folded into conv1 at all times: conv1((x - m) / s) == conv1'(x) with
    W' = W / s and b' = b - sum(W' * m), exact because conv1 has no padding. Training sees the
    folded weights, so their fake quantization (QAT_BITS) is the one the exported model has."""

    def __init__(self, channels, length, conv1, conv2, hidden, mean, std):
        super().__init__()
        self.register_buffer('mean', torch.tensor(mean, dtype=torch.float32).view(1, -1, 1))
        self.register_buffer('std', torch.tensor(std, dtype=torch.float32).view(1, -1, 1))
        k1, s1, c1 = conv1
        k2, s2, c2 = conv2
        self.conv1 = nn.Conv1d(channels, c1, kernel_size=k1, stride=s1)
        self.conv2 = nn.Conv1d(c1, c2, kernel_size=k2, stride=s2, padding=k2 // 2)
        self.pool = POOL
        l1 = (length - k1) // s1 + 1
        l2 = (l1 + 2 * (k2 // 2) - k2) // s2 + 1
        self.flat = c2 * (l2 // self.pool)
        self.fc1 = nn.Linear(self.flat, hidden)
        self.fc2 = nn.Linear(hidden, len(CLASSES))
        self.drop = nn.Dropout(0.3)
        self.frozen = False      # after freeze(): plain layers holding the final weights

    def folded_conv1(self):
        w = self.conv1.weight / self.std
        return w, self.conv1.bias - (w * self.mean).sum(dim=(1, 2))

    def forward(self, x):
        """(embedding, modality-head logits); the embedding also feeds the fusion. The head is
        called here, inside the branch, so its ONNX node is named /<branch>/fc2/Gemm."""
        if self.frozen:
            y = F.relu(self.conv1(x))
            y = F.relu(self.conv2(y))
            y = F.max_pool1d(y, self.pool)
            e = F.relu(self.fc1(torch.flatten(y, 1)))
            return e, self.fc2(e)
        w1, b1 = self.folded_conv1()
        y = F.relu(F.conv1d(x, fake_quant(w1, QAT_BITS), b1, stride=self.conv1.stride))
        y = F.relu(F.conv1d(y, fake_quant(self.conv2.weight, QAT_BITS), self.conv2.bias,
                            stride=self.conv2.stride, padding=self.conv2.padding))
        y = F.max_pool1d(y, self.pool)
        e = F.relu(quantized_linear(self.fc1, self.drop(torch.flatten(y, 1))))
        return e, quantized_linear(self.fc2, e)

    def freeze(self):
        """Writes the folded, fake-quantized weights into the layers for export (raw-unit input)."""
        with torch.no_grad():
            w1, b1 = self.folded_conv1()
            self.conv1.weight.copy_(fake_quant(w1, QAT_BITS))
            self.conv1.bias.copy_(b1)
            for layer in (self.conv2, self.fc1, self.fc2):
                layer.weight.copy_(fake_quant(layer.weight, QAT_BITS))
        self.frozen = True


def quantized_linear(layer, x):
    return F.linear(x, fake_quant(layer.weight, QAT_BITS), layer.bias)


class StressNet(nn.Module):
    """Three modality branches, each with its own head, plus a fused head on their concatenated
    embeddings. Outputs (logits): motion, eda_temp, cardio, fused."""

    def __init__(self, stats):
        super().__init__()
        n8, n1 = WINDOW_S * FS_WRIST, WINDOW_S * FS_CARDIO
        hidden = 24
        self.motion = Branch(3, n8, (8, 4, 8), (5, 2, 12), hidden, *stats['motion'])
        self.eda_temp = Branch(2, n8, (8, 4, 8), (5, 2, 12), hidden, *stats['eda_temp'])
        self.cardio = Branch(2, n1, (5, 1, 8), (3, 2, 12), hidden, *stats['cardio'])
        self.fuse1 = nn.Linear(3 * hidden, 24)
        self.fuse2 = nn.Linear(24, len(CLASSES))
        self.frozen = False

    def forward(self, motion, eda_temp, cardio):
        (em, lm), (ee, le), (ec, lc) = self.motion(motion), self.eda_temp(eda_temp), self.cardio(cardio)
        dense = (lambda layer, x: layer(x)) if self.frozen else quantized_linear
        fused = dense(self.fuse2, F.relu(dense(self.fuse1, torch.cat([em, ee, ec], dim=1))))
        return lm, le, lc, fused

    def freeze(self):
        for b in (self.motion, self.eda_temp, self.cardio):
            b.freeze()
        with torch.no_grad():
            for layer in (self.fuse1, self.fuse2):
                layer.weight.copy_(fake_quant(layer.weight, QAT_BITS))
        self.frozen = True


HEADS = ['motion', 'eda_temp', 'cardio', 'fused']


def channel_stats(xs):
    """Per-channel mean and std over the training windows (the in-graph normalisation)."""
    return {m: (xs[m].mean(axis=(0, 2)).tolist(), (xs[m].std(axis=(0, 2)) + 1e-3).tolist())
            for m, _, _ in MODALITIES}


def count_head_cost(model):
    """Parameters and multiply-accumulates per head. A modality head is its branch; the fused head
    needs all three branches' embeddings plus the fusion layers (branch heads' fc2 excluded)."""
    def conv_cost(conv, length):
        lout = (length + 2 * conv.padding[0] - conv.kernel_size[0]) // conv.stride[0] + 1
        params = conv.weight.numel() + conv.bias.numel()
        macs = conv.out_channels * lout * conv.in_channels // conv.groups * conv.kernel_size[0]
        return params, macs, lout

    def linear_cost(fc):
        return fc.weight.numel() + fc.bias.numel(), fc.in_features * fc.out_features

    cost, embed = {}, {}
    lengths = {'motion': WINDOW_S * FS_WRIST, 'eda_temp': WINDOW_S * FS_WRIST, 'cardio': WINDOW_S * FS_CARDIO}
    for m in ['motion', 'eda_temp', 'cardio']:
        b = getattr(model, m)
        p1, m1, l1 = conv_cost(b.conv1, lengths[m])
        p2, m2, _ = conv_cost(b.conv2, l1)
        p3, m3 = linear_cost(b.fc1)
        p4, m4 = linear_cost(b.fc2)
        embed[m] = (p1 + p2 + p3, m1 + m2 + m3)
        cost[m] = {'params': p1 + p2 + p3 + p4, 'macs': m1 + m2 + m3 + m4}
    pf1, mf1 = linear_cost(model.fuse1)
    pf2, mf2 = linear_cost(model.fuse2)
    cost['fused'] = {'params': sum(p for p, _ in embed.values()) + pf1 + pf2,
                     'macs': sum(c for _, c in embed.values()) + mf1 + mf2}
    cost['whole_graph'] = {'params': sum(p.numel() for n, p in model.named_parameters()),
                           'macs': sum(cost[m]['macs'] for m in ['motion', 'eda_temp', 'cardio']) + mf1 + mf2}
    return cost


# -------------------------------------------------------------------------------------- training
# Per-window random changes of baseline and gain, in each channel's units. Subjects differ far more
# in their resting EDA, skin temperature, heart rate and wrist orientation than states do within a
# subject, and 16 training subjects are too few to learn that from; these make the absolute level
# a less reliable cue than the within-window dynamics.
# Standard deviations: shift in g / (µS, °C) / (bpm, %), gain as log-normal sigma.
AUG_SHIFT = {'motion': [0.3, 0.3, 0.3], 'eda_temp': [0.0, 2.0], 'cardio': [10.0, 1.5]}
AUG_LOG_GAIN = {'motion': [0.2, 0.2, 0.2], 'eda_temp': [1.0, 0.0], 'cardio': [0.1, 0.0]}


def augment(batch, gen):
    out = []
    for (m, _, _), x in zip(MODALITIES, batch):
        n, c = x.shape[0], x.shape[1]
        shift = torch.randn(n, c, 1, generator=gen) * torch.tensor(AUG_SHIFT[m]).view(1, c, 1)
        gain = torch.exp(torch.randn(n, c, 1, generator=gen) * torch.tensor(AUG_LOG_GAIN[m]).view(1, c, 1))
        out.append(x * gain + shift)
    return out


def evaluate(model, xs, y):
    model.eval()
    with torch.no_grad():
        outs = model(*[torch.from_numpy(xs[m]) for m, _, _ in MODALITIES])
    result = {}
    for head, out in zip(HEADS, outs):
        pred = out.argmax(1).numpy()
        recalls = [float((pred[y == c] == c).mean()) for c in range(len(CLASSES)) if (y == c).any()]
        result[head] = {'accuracy': float((pred == y).mean()), 'balanced_accuracy': float(np.mean(recalls))}
    return result


def confusion(model, xs, y):
    """Fused-head confusion matrix: rows are true classes, columns predicted ones."""
    model.eval()
    with torch.no_grad():
        pred = model(*[torch.from_numpy(xs[m]) for m, _, _ in MODALITIES])[3].argmax(1).numpy()
    return [[int(((y == t) & (pred == p)).sum()) for p in range(len(CLASSES))] for t in range(len(CLASSES))]


def train(train_x, train_y, seed=SEED, log=None):
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    model = StressNet(channel_stats(train_x))
    counts = np.bincount(train_y, minlength=len(CLASSES))
    weights = torch.tensor(counts.sum() / (len(CLASSES) * counts), dtype=torch.float32)
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=1e-2)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, EPOCHS)
    tensors = {m: torch.from_numpy(train_x[m]) for m, _, _ in MODALITIES}
    labels = torch.from_numpy(train_y)
    n = len(train_y)
    for epoch in range(EPOCHS):
        model.train()
        order = rng.permutation(n)
        total = 0.0
        for i in range(0, n, 64):
            idx = torch.from_numpy(order[i:i + 64])
            batch = [tensors[m][idx] for m, _, _ in MODALITIES]
            outs = model(*(augment(batch, gen) if AUGMENT else batch))
            # Every head learns from its own loss; the fused head's counts as much as the three others.
            loss = sum(F.cross_entropy(o, labels[idx], weight=weights) for o in outs[:3]) / 3 \
                + F.cross_entropy(outs[3], labels[idx], weight=weights)
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss) * len(idx)
        sched.step()
        if log and (epoch % 10 == 9 or epoch == EPOCHS - 1):
            log(f'  epoch {epoch + 1}: loss {total / n:.3f}')
    return model


# ---------------------------------------------------------------------------------------- export
def export_onnx(model, path, example):
    model.eval()
    model.freeze()
    torch.onnx.export(model, example, path, opset_version=13,
                      input_names=[m for m, _, _ in MODALITIES],
                      output_names=[h + '_logits' for h in HEADS],
                      do_constant_folding=True)
    onnx.checker.check_model(onnx.load(path))


def input_quant_effect(model, xs, y, calib):
    """Accuracy when every graph input goes through per-tensor asymmetric int8 quantization with
    the calibration min / max (what tinym2's API does to float inputs): the raw units share one
    scale per input, so small-range channels lose resolution."""
    q = {}
    steps = {}
    for m, _, _ in MODALITIES:
        lo, hi = min(0.0, float(calib[m].min())), max(0.0, float(calib[m].max()))
        scale = (hi - lo) / 255.0
        zp = np.round(-128 - lo / scale)
        qi = np.clip(np.round(xs[m] / scale) + zp, -128, 127)
        q[m] = ((qi - zp) * scale).astype(np.float32)
        steps[m] = scale
    return evaluate(model, q, y), steps


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--cv', action='store_true', help='also run 5-fold leave-subjects-out CV')
    ap.add_argument('--out', default=HERE)
    args = ap.parse_args()
    torch.set_num_threads(1)               # teammates share the CPU
    t0 = time.time()
    log = lambda s: print(f'[{time.time() - t0:6.1f}s] {s}', flush=True)

    data = load_all()
    counts = np.bincount(np.concatenate([data[s][1] for s in SUBJECTS]), minlength=4)
    log(f'windows per class (all subjects): {dict(zip(CLASSES, counts.tolist()))}')
    metrics = {'window_s': WINDOW_S, 'hop_s': HOP_S, 'epochs': EPOCHS, 'folds': FOLDS,
               'test_subjects': FOLDS[TEST_FOLD], 'windows_per_class': dict(zip(CLASSES, counts.tolist()))}

    if args.cv:
        metrics['cv'] = []
        for k, test_subjects in enumerate(FOLDS):
            train_subjects = [s for s in SUBJECTS if s not in test_subjects]
            model = train(*gather(data, train_subjects))
            r = evaluate(model, *gather(data, test_subjects))
            metrics['cv'].append(r)
            log(f'fold {k} test {test_subjects}: ' +
                ', '.join(f'{h} {r[h]["accuracy"]:.3f}/{r[h]["balanced_accuracy"]:.3f}' for h in HEADS))
        metrics['cv_mean'] = {h: {key: float(np.mean([f[h][key] for f in metrics['cv']]))
                                  for key in ['accuracy', 'balanced_accuracy']} for h in HEADS}
        metrics['cv_std'] = {h: {key: float(np.std([f[h][key] for f in metrics['cv']]))
                                 for key in ['accuracy', 'balanced_accuracy']} for h in HEADS}
        log(f'cv mean: {metrics["cv_mean"]}')

    test_subjects = FOLDS[TEST_FOLD]
    train_subjects = [s for s in SUBJECTS if s not in test_subjects]
    train_x, train_y = gather(data, train_subjects)
    test_x, test_y = gather(data, test_subjects)
    log(f'final split: train {len(train_y)} windows ({train_subjects}), test {len(test_y)} ({test_subjects})')
    model = train(train_x, train_y, log=log)
    metrics['test'] = evaluate(model, test_x, test_y)
    metrics['test_fused_confusion'] = confusion(model, test_x, test_y)
    metrics['test_per_subject'] = {}
    for s in test_subjects:
        sx, sy = gather(data, [s])
        metrics['test_per_subject'][s] = {h: round(r['accuracy'], 3) for h, r in evaluate(model, sx, sy).items()}
    log(f'test per subject (accuracy): {metrics["test_per_subject"]}')
    log(f'fused confusion (rows true, cols predicted, {CLASSES}): {metrics["test_fused_confusion"]}')
    metrics['train'] = evaluate(model, train_x, train_y)
    log(f'test: {metrics["test"]}')

    # A few hundred training windows, stratified by class, for quantization calibration.
    rng = np.random.default_rng(SEED)
    calib_idx = np.sort(np.concatenate([rng.choice(np.flatnonzero(train_y == c), 75, replace=False)
                                        for c in range(len(CLASSES))]))
    calib = {m: train_x[m][calib_idx] for m, _, _ in MODALITIES}
    metrics['test_int8_inputs'], steps = input_quant_effect(model, test_x, test_y, calib)
    metrics['int8_input_step'] = steps
    log(f'test with int8-quantized inputs: {metrics["test_int8_inputs"]}; steps {steps}')

    metrics['cost'] = count_head_cost(model)
    os.makedirs(args.out, exist_ok=True)
    test_inputs = [torch.from_numpy(test_x[m]) for m, _, _ in MODALITIES]
    model.eval()
    with torch.no_grad():
        before = model(*test_inputs)
    export_onnx(model, os.path.join(args.out, 'model.onnx'), tuple(t[:1] for t in test_inputs))
    with torch.no_grad():
        after = model(*test_inputs)
    # Freezing (folded weights written into plain layers) must not change the logits beyond float rounding.
    fold_error = max(float((a - b).abs().max()) for a, b in zip(after, before))
    metrics['fold_max_abs_logit_change'] = fold_error
    assert fold_error < 1e-3, fold_error

    np.savez_compressed(os.path.join(args.out, 'calib.npz'), **calib, labels=train_y[calib_idx])
    np.savez_compressed(os.path.join(args.out, 'test.npz'), **test_x, labels=test_y)
    with open(os.path.join(args.out, 'metrics.json'), 'w') as f:
        json.dump(metrics, f, indent=1)
    log(f'cost: {metrics["cost"]}')
    log('done')
    return 0


if __name__ == '__main__':
    sys.exit(main())
