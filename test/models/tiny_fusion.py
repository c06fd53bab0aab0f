"""Exports tiny_fusion_op{11,13,17}.onnx: a small two-modality CNN (1-D sensor branch + 2-D image
branch) with what PyTorch emits for such models: Conv1d/Conv2d (grouped, dilated, padded),
BatchNorm (foldable and not), ReLU6 (Clip), LeakyReLU, Sigmoid, MaxPool with ceil_mode,
AveragePool with count_include_pad, residual Add, flatten shape arithmetic, Concat, Linear,
Softmax. Weights are random (seeded) and BatchNorm statistics are made non-trivial.
Run: /usr/bin/python3 test/models/tiny_fusion.py
"""
import os
import torch
import torch.nn as nn

torch.manual_seed(0)


class TinyFusion(nn.Module):
    def __init__(self):
        super().__init__()
        self.s_conv = nn.Conv1d(6, 8, 5, stride=2, padding=2)
        self.s_bn = nn.BatchNorm1d(8)
        self.s_dw = nn.Conv1d(8, 8, 3, padding=2, dilation=2, groups=8, bias=False)
        self.s_pool = nn.MaxPool1d(3, stride=2, ceil_mode=True)
        self.i_conv = nn.Conv2d(1, 8, 3, stride=1, padding=1)
        self.i_bn = nn.BatchNorm2d(8)
        self.i_dw = nn.Conv2d(8, 8, 3, padding=1, groups=8)
        self.i_pw = nn.Conv2d(8, 8, 1)
        self.i_pw_bn = nn.BatchNorm2d(8)
        self.i_pool = nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=True)
        self.i_pool2 = nn.MaxPool2d(2)
        self.bn_alone = nn.BatchNorm2d(8)  # after a pool: stays a ScaleShift
        self.fc1 = nn.Linear(8 * 8 + 8 * 3 * 3, 16)
        self.fc2 = nn.Linear(16, 5)

    def forward(self, imu, image):
        s = torch.clamp(self.s_bn(self.s_conv(imu)), 0.0, 6.0)
        s = nn.functional.leaky_relu(self.s_dw(s), 0.1)
        s = self.s_pool(s)
        i = torch.relu(self.i_bn(self.i_conv(image)))
        r = i
        i = torch.relu(self.i_dw(i))
        i = self.i_pw_bn(self.i_pw(i)) + r
        i = self.i_pool(i)
        i = self.bn_alone(self.i_pool2(i))
        i = torch.sigmoid(i) * i
        z = torch.cat([s.reshape(s.shape[0], -1), torch.flatten(i, 1)], dim=1)
        z = torch.relu(self.fc1(z))
        return torch.softmax(self.fc2(z), dim=1), z


def randomize_bn(m):
    for mod in m.modules():
        if isinstance(mod, (nn.BatchNorm1d, nn.BatchNorm2d)):
            mod.running_mean.uniform_(-0.5, 0.5)
            mod.running_var.uniform_(0.5, 2.0)
            mod.weight.data.uniform_(0.5, 1.5)
            mod.bias.data.uniform_(-0.3, 0.3)


model = TinyFusion()
randomize_bn(model)
model.eval()
imu = torch.randn(1, 6, 32)
image = torch.randn(1, 1, 12, 12)
here = os.path.dirname(os.path.abspath(__file__))
for opset in (11, 13, 17):
    torch.onnx.export(
        model, (imu, image), os.path.join(here, f"tiny_fusion_op{opset}.onnx"), opset_version=opset,
        input_names=["imu", "image"], output_names=["probs", "embedding"],
        dynamic_axes={"imu": {0: "batch"}, "image": {0: "batch"}, "probs": {0: "batch"}, "embedding": {0: "batch"}},
        # opset 11: keep BatchNormalization nodes (torch's eval export would fuse them) so the
        # importer's own BN folding is exercised; constant folding off keeps torch's shape subgraphs.
        do_constant_folding=(opset != 11),
        training=torch.onnx.TrainingMode.PRESERVE if opset == 11 else torch.onnx.TrainingMode.EVAL,
    )
print("ok")
