"""Exports tiny_patterns_op{11,13}.onnx: graph patterns raw PyTorch 1.13 exports emit for small
sensor / image models, kept as exported (no constant folding): F.pad's shape subgraph
(ConstantOfShape / Concat / Reshape / Slice / Transpose / Cast), x.view(x.size(0), -1) via
Shape / Gather / Unsqueeze / Concat, mean over the spatial axes (ReduceMean), Linear on a 3-D
input (MatMul + Add), permute (Transpose), Hardtanh (Clip), x / 2 (Div by a constant).
Run: /usr/bin/python3 test/models/tiny_patterns.py
"""
import os
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(1)


class Patterns(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 6, 3)
        self.seq = nn.Linear(6, 5)
        self.head = nn.Linear(5 * 4 + 6, 3)

    def forward(self, x):
        y = F.pad(x, (1, 2, 0, 1))                   # [N, 2, 9, 11]
        y = F.hardtanh(self.conv(y), -1.0, 1.0)     # [N, 6, 7, 9]
        g = y.mean(dim=[2, 3])                      # ReduceMean -> [N, 6]
        p = F.adaptive_avg_pool2d(y, 1)             # GlobalAveragePool
        t = F.max_pool2d(y, (2, 9), ceil_mode=True).flatten(2).permute(0, 2, 1) / 2.0  # [N, 4, 6]
        t = self.seq(t)                             # MatMul + Add on a 3-D input
        z = torch.cat([t.reshape(t.size(0), -1), g + p.view(p.size(0), -1)], dim=1)
        return self.head(z)


model = Patterns().eval()
x = torch.randn(1, 2, 8, 8)
here = os.path.dirname(os.path.abspath(__file__))
for opset in (11, 13):
    torch.onnx.export(model, (x,), os.path.join(here, f"tiny_patterns_op{opset}.onnx"), opset_version=opset,
                      input_names=["x"], output_names=["logits"], dynamic_axes={"x": {0: "batch"}, "logits": {0: "batch"}},
                      do_constant_folding=False)
print("ok")
