#!/usr/bin/env python3
"""Exports the small ONNX test models of tinym2 (and one .npz of sample inputs per model).

Run with Debian's python (torch 1.13, onnx 1.12):  /usr/bin/python3 test/models/export_models.py
Weights are seeded random: these models test the importer, quantizer and code generator, not accuracy.
Every .onnx and .npz is committed so the TypeScript tests never need PyTorch.

Each .npz holds 8 rows per graph input (key = graph input name, batch first, float32) plus
`labels` (int64, [8], random classes of the first output).
"""
import os
import sys
import zlib

import numpy as np
import onnx
import onnx.numpy_helper
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.environ.get('TM2_MODELS_OUT') or os.path.dirname(os.path.abspath(__file__))
ROWS = 8


def randomize_batchnorm(module: nn.Module, gen: torch.Generator) -> None:
    """Non-trivial running statistics so a BN that is folded or emulated wrongly shows up."""
    for m in module.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            c = m.num_features
            m.running_mean.copy_(torch.randn(c, generator=gen) * 0.3)
            m.running_var.copy_(torch.rand(c, generator=gen) * 1.5 + 0.25)
            m.weight.data.copy_(torch.rand(c, generator=gen) * 1.5 + 0.25)
            m.bias.data.copy_(torch.randn(c, generator=gen) * 0.2)


# ---------------------------------------------------------------- 1. sensor1d (opset 13)
class Sensor1d(nn.Module):
    """Two 1-D sensor inputs, one classification head per input."""

    def __init__(self):
        super().__init__()
        self.imu = nn.Sequential(
            nn.Conv1d(3, 8, kernel_size=5, padding=2), nn.ReLU(), nn.MaxPool1d(2),
            nn.Conv1d(8, 8, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool1d(2),
            nn.Flatten(), nn.Linear(8 * 16, 4))
        self.env = nn.Sequential(
            nn.Conv1d(2, 6, kernel_size=3, stride=1, padding=1), nn.ReLU(), nn.MaxPool1d(2),
            nn.Flatten(), nn.Linear(6 * 16, 3))

    def forward(self, imu, env):
        return self.imu(imu), self.env(env)


# ---------------------------------------------------------------- 2. dscnn2d (opset 13)
def ds_block(cin: int, cout: int) -> nn.Sequential:
    """Depthwise (groups = C) 3x3 then pointwise 1x1, each with ReLU."""
    return nn.Sequential(
        nn.Conv2d(cin, cin, kernel_size=3, padding=1, groups=cin), nn.ReLU(),
        nn.Conv2d(cin, cout, kernel_size=1), nn.ReLU())


class Dscnn2d(nn.Module):
    """Image branch + spectrogram branch of depthwise-separable convs, concatenated, dense head, Softmax."""

    def __init__(self):
        super().__init__()
        self.image = nn.Sequential(
            nn.Conv2d(1, 8, kernel_size=3, stride=2, padding=1), nn.ReLU(),   # 14x14
            ds_block(8, 16), nn.MaxPool2d(2),                                  # 7x7
            ds_block(16, 16), nn.MaxPool2d(2),                                 # 3x3
            nn.Flatten(), nn.Linear(16 * 3 * 3, 24), nn.ReLU())
        self.spec = nn.Sequential(
            nn.Conv2d(1, 8, kernel_size=(3, 3), stride=(1, 2), padding=1), nn.ReLU(),  # 20x16
            ds_block(8, 12), nn.MaxPool2d(2),                                            # 10x8
            ds_block(12, 12), nn.MaxPool2d(2),                                           # 5x4
            nn.Flatten(), nn.Linear(12 * 5 * 4, 16), nn.ReLU())
        self.head = nn.Sequential(nn.Linear(24 + 16, 16), nn.ReLU(), nn.Linear(16, 10))

    def forward(self, image, spectrogram):
        fused = torch.cat([self.image(image), self.spec(spectrogram)], dim=1)
        return torch.softmax(self.head(fused), dim=1)


# ---------------------------------------------------------------- 3. bn_nodes (opset 11)
class BnNodes(nn.Module):
    """BN that cannot be folded into its conv (the conv output also feeds a residual Add),
    and a standalone BN after a pooling layer."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, kernel_size=3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.pool = nn.MaxPool2d(2)
        self.bn2 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 8, kernel_size=3, padding=1)
        self.fc = nn.Linear(8 * 4 * 4, 5)

    def forward(self, x):
        c = self.conv1(x)
        y = torch.relu(self.bn1(c)) + c          # conv output used twice: BN stays a node
        y = self.bn2(self.pool(y))               # standalone BN after pooling
        y = torch.relu(self.conv2(y))
        y = F.max_pool2d(y, 2)
        return self.fc(torch.flatten(y, 1))


# ---------------------------------------------------------------- 4. relu6_residual (opset 17)
class Relu6Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, kernel_size=3, padding=1)
        self.body = nn.Conv2d(8, 8, kernel_size=3, padding=1)
        self.pool = nn.AvgPool2d(kernel_size=3, stride=2, padding=1, count_include_pad=False)
        self.expand = nn.Conv2d(8, 16, kernel_size=1)
        self.gap = nn.AdaptiveAvgPool2d(1)   # exported as GlobalAveragePool
        self.fc = nn.Linear(16, 6)

    def forward(self, x):
        s = F.relu6(self.stem(x))                # Clip(min=0, max=6) with min/max as inputs
        y = F.relu6(self.body(s)) + s            # residual Add
        y = self.pool(y)                         # 16x16 -> 8x8, padded border not counted
        y = torch.clamp(self.expand(y), 0.0, 6.0)  # a bare Clip(0, 6), no Relu before it
        return self.fc(torch.flatten(self.gap(y), 1))


# ---------------------------------------------------------------- 5a. grouped_conv (opset 13)
PAD = (1, 2, 0, 1)


class GroupedConv(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(4, 8, kernel_size=3, stride=2, dilation=2, groups=2)
        self.conv2 = nn.Conv2d(8, 8, kernel_size=(3, 1), stride=(2, 1), groups=2, padding=(1, 0))
        self.fc = nn.Linear(8 * 6 * 12, 4)

    def forward(self, x):
        y = F.pad(x, PAD)                        # asymmetric: left 1, right 2, top 0, bottom 1
        y = torch.relu(self.conv1(y))            # [1,4,25,27] -> [1,8,11,12]
        y = torch.relu(self.conv2(y))            # -> [1,8,6,12]
        return self.fc(torch.flatten(y, 1))


# ---------------------------------------------------------------- 5b. gemm_variants (opset 18)
class GemmVariants(nn.Module):
    def __init__(self, gen: torch.Generator):
        super().__init__()
        self.mean = nn.Parameter(torch.randn(1, 12, generator=gen) * 0.5)
        self.inv_std = nn.Parameter(torch.rand(12, generator=gen) + 0.5)
        self.no_bias = nn.Linear(12, 16, bias=False)           # MatMul with the transposed weight
        self.matrix = nn.Parameter(torch.randn(16, 10, generator=gen) * 0.3)  # MatMul with a constant
        self.fc = nn.Linear(10, 3)                              # Gemm

    def forward(self, x):
        y = (x - self.mean) * self.inv_std                      # Sub / Mul with broadcast constants
        y = torch.sigmoid(self.no_bias(y))
        y = F.leaky_relu(y @ self.matrix, negative_slope=0.1)
        return self.fc(y)


# ---------------------------------------------------------------- 6. newops_2d / newops_1d (issue 11's operators)
class NewOps2d(nn.Module):
    """PRelu, Split, ConvTranspose, Resize nearest and bilinear, dilated grouped conv, dilated depthwise
    with channel multiplier 2, Slice with steps, ReduceMean and ReduceMax, LogSoftmax."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, kernel_size=3, padding=1)
        self.prelu = nn.PReLU(8)
        self.up = nn.ConvTranspose2d(4, 4, kernel_size=3, stride=2, padding=1, output_padding=1)
        self.dil = nn.Conv2d(8, 8, kernel_size=3, padding=2, dilation=2, groups=2)
        self.dw = nn.Conv2d(8, 16, kernel_size=3, padding=2, dilation=2, groups=8)
        self.fc = nn.Linear(32, 5)

    def forward(self, x):
        y = self.prelu(self.conv1(x))                                   # [1,8,12,12]
        a, b = torch.split(y, [4, 4], dim=1)                            # Split
        a = self.up(a)                                                  # ConvTranspose -> [1,4,24,24]
        b = F.interpolate(b, scale_factor=2.0, mode='nearest')          # Resize nearest
        z = F.relu(self.dil(torch.cat([a, b], 1)))                      # dilated grouped conv
        z = F.interpolate(z, scale_factor=0.5, mode='bilinear', align_corners=False)  # [1,8,12,12]
        z = z[:, :, 1:11, 0:12:2]                                       # Slice [1,8,10,6]
        z = self.dw(z)                                                  # dilated depthwise x2 [1,16,10,6]
        h = torch.cat([z.mean(dim=(2, 3)), torch.amax(z, dim=(2, 3))], 1)  # ReduceMean, ReduceMax
        return F.log_softmax(self.fc(h), dim=1)


class NewOps1d(nn.Module):
    """1-D: dilated grouped conv, ConvTranspose1d with groups, linear Resize (align_corners), Slice,
    ReduceMax and ReduceMean over channels, PReLU with one slope, LogSoftmax."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv1d(4, 8, kernel_size=3, padding=3, dilation=3, groups=2)
        self.prelu = nn.PReLU(1, init=0.2)
        self.up = nn.ConvTranspose1d(8, 6, kernel_size=4, stride=2, padding=1, groups=2)
        self.conv2 = nn.Conv1d(2, 4, kernel_size=5, stride=2, padding=2)
        self.fc = nn.Linear(4 * 12, 3)

    def forward(self, x):
        y = self.prelu(self.conv1(x))                                   # [1,8,24]
        y = self.up(y)                                                  # [1,6,48]
        y = F.interpolate(y, size=40, mode='linear', align_corners=True)  # [1,6,40]
        y = y[:, 1:5, 2:34:1]                                           # [1,4,32]? channels 1..4
        s = torch.cat([torch.amax(y, dim=1, keepdim=True), y.mean(dim=1, keepdim=True)], 1)  # [1,2,32]
        s = F.relu(self.conv2(s))                                       # [1,4,16]
        s = s[:, :, 2:14]                                               # [1,4,12]
        return F.log_softmax(self.fc(torch.flatten(s, 1)), dim=1)
# ---------------------------------------------------------------- 6. lut_acts (opset 14)
class LutActs(nn.Module):
    """The lookup-table activations: HardSwish (an ONNX op from opset 14; lower opsets get a
    decomposition), HardSigmoid (torch exports alpha = 1/6, not ONNX's default 0.2) gating a
    depthwise branch by Mul, and Tanh."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, kernel_size=3, padding=1)
        self.gate = nn.Conv2d(8, 8, kernel_size=3, padding=1, groups=8)
        self.expand = nn.Conv2d(8, 12, kernel_size=1)
        self.fc = nn.Linear(12, 5)

    def forward(self, x):
        y = nn.functional.hardswish(self.stem(x))
        y = y * nn.functional.hardsigmoid(self.gate(y))
        y = torch.tanh(self.expand(y))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(y, 1), 1))


# ---------------------------------------------------------------- 7. dscnn_shared_bn (opset 11)
class DscnnSharedBn(nn.Module):
    """DS-CNN whose BatchNorm parameters are equal across layers: torch de-duplicates the equal
    initializers and reads them through Identity nodes (constant folding must see through them)."""

    def __init__(self):
        super().__init__()

        def block(c: int) -> list:
            return [nn.Conv2d(c, c, 3, padding=1, groups=c, bias=False), nn.BatchNorm2d(c), nn.ReLU(),
                    nn.Conv2d(c, c, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU()]
        self.f = nn.Sequential(nn.Conv2d(1, 8, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
                               *block(8), *block(8), nn.AdaptiveAvgPool2d(1))
        self.fc = nn.Linear(8, 4)

    def forward(self, x):
        return self.fc(torch.flatten(self.f(x), 1))


def share_batchnorm(module: nn.Module, gen: torch.Generator) -> None:
    """The same non-trivial gamma, beta, mean and var in every BatchNorm (all have 8 channels)."""
    gamma, beta = torch.rand(8, generator=gen) + 0.5, torch.randn(8, generator=gen) * 0.2
    mean, var = torch.randn(8, generator=gen) * 0.3, torch.rand(8, generator=gen) + 0.5
    for m in module.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.weight.data.copy_(gamma)
            m.bias.data.copy_(beta)
            m.running_mean.copy_(mean)
            m.running_var.copy_(var)


# ---------------------------------------------------------------- 8. fixed_batch4 (opset 13)
class FixedBatch(nn.Module):
    """Exported with a dummy input of batch 4 and no dynamic axis: the batch is fixed at 4 in the
    file (inputs, outputs, and the Reshape target [4, -1] of x.reshape(x.size(0), -1))."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 4, 3, padding=1)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4 * 4 * 4, 3)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn(self.conv(x))), 2)
        return F.softmax(self.fc(x.reshape(x.size(0), -1)), dim=1)


# ---------------------------------------------------------------- 9. stacked recurrent layers (opset 13)
class StackedLstm(nn.Module):
    """Two stacked LSTM layers (batch_first): layer 1's whole sequence feeds layer 2, whose sequence
    is averaged over time (Squeeze, Transpose, ReduceMean in the export) before a dense layer."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(6, 12, num_layers=2, batch_first=True)
        self.fc = nn.Linear(12, 4)

    def forward(self, x):
        y, _ = self.lstm(x)
        return self.fc(y.mean(dim=1))


class ConvStackedGru(nn.Module):
    """A Conv1d front, two stacked GRU layers on its [T, 1, C] sequence, and a dense layer over the
    whole output sequence (every step's hidden state, flattened)."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(3, 8, 5, stride=2)
        self.gru = nn.GRU(8, 10, num_layers=2)
        self.fc = nn.Linear(10 * 10, 4)

    def forward(self, x):
        s = F.relu(self.conv(x)).permute(2, 0, 1)   # [T, 1, C]
        y, _ = self.gru(s)                          # [T, 1, H]
        return self.fc(y.permute(1, 0, 2).flatten(1))


class SequenceReads(nn.Module):
    """The ways a model reads a recurrent layer's whole sequence: a sequence-first LSTM's output
    averaged, maxed and its last step taken (`y.mean(0)`, `y.amax(0)`, `y[-1]`: ReduceMean,
    ReduceMax and Gather on [T, 1, H]), and a batch-first GRU's last step (`y[:, -1]`: Gather on
    [1, T, H])."""

    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(6, 8)
        self.gru = nn.GRU(6, 5, batch_first=True)
        self.fc = nn.Linear(3 * 8 + 5, 4)

    def forward(self, x):
        y, _ = self.lstm(x.permute(2, 0, 1))      # x [N, 6, T] -> [T, N, 8]
        z, _ = self.gru(x.transpose(1, 2))        # [N, T, 5]
        return self.fc(torch.cat([y.mean(0), y.amax(0), y[-1], z[:, -1]], 1))


def fold_pad_amounts(graph: onnx.GraphProto, torch_pad: tuple, rank: int) -> None:
    """torch 1.13 computes F.pad's amounts with a Constant/ConstantOfShape/Concat/Reshape/Slice/
    Transpose/Cast subgraph even when they are constants; replace it by one int64 initializer
    (ONNX order: all begins, then all ends) so the model shows a plain Pad node."""
    begins, ends = [0] * rank, [0] * rank
    for i in range(len(torch_pad) // 2):            # torch lists (begin, end) pairs, last axis first
        begins[rank - 1 - i], ends[rank - 1 - i] = torch_pad[2 * i], torch_pad[2 * i + 1]
    pad_node = next(n for n in graph.node if n.op_type == 'Pad')
    graph.initializer.append(onnx.numpy_helper.from_array(
        np.array(begins + ends, dtype=np.int64), name=pad_node.name + '_pads'))
    pad_node.input[1] = pad_node.name + '_pads'
    while True:                                     # drop nodes whose outputs nobody reads
        used = {i for n in graph.node for i in n.input} | {o.name for o in graph.output}
        dead = [n for n in graph.node if not any(o in used for o in n.output)]
        if not dead:
            break
        for n in dead:
            graph.node.remove(n)
    # The exporter could not infer shapes through the subgraph (the output batch became a symbol):
    # the input is static, so the batch of every output is 1; value_info is re-inferred on save.
    for out in graph.output:
        out.type.tensor_type.shape.dim[0].dim_value = 1
    del graph.value_info[:]


def export(name, model, inputs, outputs, opset, dynamic_batch=False, keep_bn=False, post_opset=None,
           torch_pad=None):
    """Exports `model` to <name>.onnx, checks it, and writes <name>.npz (8 random rows per input)."""
    model.eval()
    path = os.path.join(HERE, name + '.onnx')
    example = tuple(torch.randn(*shape) for shape in inputs.values())
    dyn = None
    if dynamic_batch:
        dyn = {n: {0: 'N'} for n in list(inputs) + outputs}
    torch.onnx.export(
        model, example, path, opset_version=opset,
        input_names=list(inputs), output_names=outputs, dynamic_axes=dyn,
        # PRESERVE skips the exporter's eval-mode peephole pass, which would fuse Conv+BN.
        training=torch.onnx.TrainingMode.PRESERVE if keep_bn else torch.onnx.TrainingMode.EVAL,
        do_constant_folding=not keep_bn)
    proto = onnx.load(path)
    if torch_pad is not None:
        fold_pad_amounts(proto.graph, torch_pad, len(next(iter(inputs.values()))))
        proto = onnx.shape_inference.infer_shapes(proto)
        onnx.save(proto, path)
    if post_opset is not None:
        # torch 1.13 exports at most opset 17. None of the ops in this graph changed between 17 and
        # post_opset, so re-labelling the default-domain import gives a valid opset-post_opset model.
        for imp in proto.opset_import:
            if imp.domain in ('', 'ai.onnx'):
                imp.version = post_opset
        onnx.save(proto, path)
    else:
        onnx.checker.check_model(proto)
    ops = sorted({n.op_type for n in proto.graph.node})
    if keep_bn:
        assert 'BatchNormalization' in ops, f'{name}: BatchNormalization was folded away'

    gen = torch.Generator().manual_seed(zlib.crc32(name.encode()))
    rows = {n: torch.randn(ROWS, *shape[1:], generator=gen).numpy().astype(np.float32)
            for n, shape in inputs.items()}
    with torch.no_grad():
        first = model(*[torch.from_numpy(r) for r in rows.values()])
    first = first[0] if isinstance(first, tuple) else first
    classes = first.shape[1]
    rows['labels'] = torch.randint(0, classes, (ROWS,), generator=gen).numpy().astype(np.int64)
    np.savez(os.path.join(HERE, name + '.npz'), **rows)
    size = os.path.getsize(path)
    print(f'{name}.onnx  opset {proto.opset_import[0].version}  {size} B  ops: {", ".join(ops)}')


def seeded(name: str) -> torch.Generator:
    """Seeds torch's global RNG (module initialisers) from the model name and returns a generator
    for extra random tensors, so each model is reproducible on its own, independent of order."""
    seed = zlib.crc32(name.encode()) & 0x7FFFFFFF
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed + 1)


def build(name: str) -> nn.Module:
    """The seeded model called `name` (weights identical on every call)."""
    gen = seeded(name)
    if name == 'sensor1d':
        return Sensor1d()
    if name == 'dscnn2d':
        return Dscnn2d()
    if name == 'bn_nodes':
        model = BnNodes()
        randomize_batchnorm(model, gen)
        return model
    if name == 'relu6_residual':
        return Relu6Residual()
    if name == 'grouped_conv':
        return GroupedConv()
    if name == 'gemm_variants':
        return GemmVariants(gen)
    if name == 'newops_2d':
        model = NewOps2d()
        model.prelu.weight.data.copy_(torch.randn(8, generator=gen) * 0.5)   # mixed-sign slopes
        return model
    if name == 'newops_1d':
        return NewOps1d()
    if name == 'lut_acts':
        return LutActs()
    if name == 'dscnn_shared_bn':
        model = DscnnSharedBn()
        share_batchnorm(model, gen)
        return model
    if name == 'rnn_stacked_lstm':
        return StackedLstm()
    if name == 'rnn_conv_gru2':
        return ConvStackedGru()
    if name == 'rnn_seq_reads':
        return SequenceReads()
    if name == 'fixed_batch4':
        model = FixedBatch()
        randomize_batchnorm(model, gen)
        return model
    raise KeyError(name)


def main() -> int:
    if sys.argv[1:2] == ['--newops']:   # only the models of issue 11's operators
        export('newops_2d', build('newops_2d'), {'x': [1, 3, 12, 12]}, ['logprobs'], opset=13)
        export('newops_1d', build('newops_1d'), {'x': [1, 4, 24]}, ['logprobs'], opset=13)
        return 0
    if sys.argv[1:2] == ['--rnn']:   # only the stacked recurrent models
        export('rnn_stacked_lstm', build('rnn_stacked_lstm'), {'x': [1, 10, 6]}, ['logits'], opset=13)
        export('rnn_conv_gru2', build('rnn_conv_gru2'), {'x': [1, 3, 23]}, ['logits'], opset=13)
        export('rnn_seq_reads', build('rnn_seq_reads'), {'x': [1, 6, 9]}, ['logits'], opset=13)
        return 0
    export('sensor1d', build('sensor1d'), {'imu': [1, 3, 64], 'env': [1, 2, 32]},
           ['imu_logits', 'env_logits'], opset=13, dynamic_batch=True)
    export('dscnn2d', build('dscnn2d'), {'image': [1, 1, 28, 28], 'spectrogram': [1, 1, 20, 32]},
           ['probs'], opset=13, dynamic_batch=True)
    export('bn_nodes', build('bn_nodes'), {'x': [1, 3, 16, 16]}, ['logits'], opset=11, keep_bn=True)
    export('relu6_residual', build('relu6_residual'), {'x': [1, 3, 16, 16]}, ['logits'], opset=17)
    export('grouped_conv', build('grouped_conv'), {'x': [1, 4, 24, 24]}, ['logits'], opset=13,
           torch_pad=PAD)
    export('gemm_variants', build('gemm_variants'), {'features': [1, 12]}, ['logits'], opset=17,
           post_opset=18)
    export('newops_2d', build('newops_2d'), {'x': [1, 3, 12, 12]}, ['logprobs'], opset=13)
    export('newops_1d', build('newops_1d'), {'x': [1, 4, 24]}, ['logprobs'], opset=13)
    export('lut_acts', build('lut_acts'), {'x': [1, 3, 12, 12]}, ['logits'], opset=14)
    export('dscnn_shared_bn', build('dscnn_shared_bn'), {'x': [1, 1, 16, 16]}, ['logits'], opset=11,
           keep_bn=True)
    export('fixed_batch4', build('fixed_batch4'), {'x': [4, 2, 8, 8]}, ['probs'], opset=13)
    export('rnn_stacked_lstm', build('rnn_stacked_lstm'), {'x': [1, 10, 6]}, ['logits'], opset=13)
    export('rnn_conv_gru2', build('rnn_conv_gru2'), {'x': [1, 3, 23]}, ['logits'], opset=13)
    export('rnn_seq_reads', build('rnn_seq_reads'), {'x': [1, 6, 9]}, ['logits'], opset=13)
    return 0


if __name__ == '__main__':
    sys.exit(main())
