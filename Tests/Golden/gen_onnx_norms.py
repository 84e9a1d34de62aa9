"""ONNX fixtures of the row normalizations and the transposed convolution as PyTorch 1.13 exports them (writes
Tests/NeuroPlugin.Tests/Onnx/Fixtures/<name>.onnx, .input.npy, .output.npy through gen_onnx.export):
GroupNorm (Reshape, InstanceNormalization with ones and zeros, Reshape back, Mul, Add), InstanceNorm2d with and without
affine (InstanceNormalization), ConvTranspose2d (stride, padding, output_padding, groups, no bias) in a small
encoder-decoder at opsets 11, 13 and 17, and LayerNorm over (H,W), over (C,H,W) and over features (LayerNormalization at
opset 17, spelled out in ReduceMean/Sub/Pow/Add/Sqrt/Div/Mul/Add at opsets 11 and 13). Inputs (N,3,6,5), outputs (N,4) logits, so the fine-tuning tests can train them."""
import torch
import torch.nn as nn
import torch.nn.functional as F

import gen_onnx


def _randomize_affine(*modules):
    with torch.no_grad():
        for m in modules:
            m.weight.copy_(torch.rand(m.weight.shape) + 0.5)
            m.bias.copy_(torch.randn(m.bias.shape) * 0.5)


class NormsAndTransposed(nn.Module):
    """conv (stride 2) → GroupNorm(2, 8) → ReLU → ConvTranspose2d(8→6, k3, s2, p1, output_padding 1) → InstanceNorm2d(affine)
    → ReLU → ConvTranspose2d(6→4, k(2,3), s(1,2), p(0,1), groups 2, no bias) → InstanceNorm2d → ReLU → 1×1 conv → mean."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, stride=2, padding=1)                                           # (N,8,3,3)
        self.gn = nn.GroupNorm(2, 8)
        self.up = nn.ConvTranspose2d(8, 6, 3, stride=2, padding=1, output_padding=1)                  # (N,6,6,6)
        self.inorm = nn.InstanceNorm2d(6, affine=True)
        self.up2 = nn.ConvTranspose2d(6, 4, (2, 3), stride=(1, 2), padding=(0, 1), groups=2, bias=False)  # (N,4,7,11)
        self.inorm2 = nn.InstanceNorm2d(4)
        self.head = nn.Conv2d(4, 4, 1)
        _randomize_affine(self.gn, self.inorm)

    def forward(self, x):
        h = F.relu(self.gn(self.conv(x)))
        h = F.relu(self.inorm(self.up(h)))
        h = F.relu(self.inorm2(self.up2(h)))
        return self.head(h).mean((2, 3))


class LayerNorms(nn.Module):
    """conv → LayerNorm over (H,W) → ReLU → LayerNorm over (C,H,W) → flatten → Linear → LayerNorm(16) → GELU → Linear."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.ln_hw = nn.LayerNorm([6, 5])
        self.ln_chw = nn.LayerNorm([4, 6, 5], eps=1e-3)
        self.fc = nn.Linear(120, 16)
        self.ln = nn.LayerNorm(16)
        self.out = nn.Linear(16, 4)
        _randomize_affine(self.ln_hw, self.ln_chw, self.ln)

    def forward(self, x):
        h = self.ln_chw(F.relu(self.ln_hw(self.conv(x))))
        return self.out(F.gelu(self.ln(self.fc(h.flatten(1)))))


CASES = [
    *gen_onnx.at_opsets("norms_transposed", NormsAndTransposed, (2, 3, 6, 5), {11: True, 13: True, 17: False}),
    # below opset 17 the exporter spells LayerNorm out: ReduceMean, Sub, Pow, ReduceMean, Add, Sqrt, Div, Mul, Add
    *gen_onnx.at_opsets("layer_norms", LayerNorms, (2, 3, 6, 5), {17: True, 11: True, 13: False}),
]


if __name__ == "__main__":
    gen_onnx.main(CASES, 400)
