"""ONNX fixtures for the general operators: functions written out in elementary operations as PyTorch exports them,
at opsets 11, 13 and 17 (writes Tests/NeuroPlugin.Tests/Onnx/Fixtures/<name>.onnx, .input.npy, .output.npy through
gen_onnx.export)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

import gen_onnx


class ElementaryArithmetic(nn.Module):
    """Broadcasting Add/Sub/Mul/Div/Pow/Min/Max of tensors and constants: an instance norm spelled with ReduceMean, Sub,
    Pow, Add and Div (a learnable per-channel scale and shift after it), GELU's tanh and exact (Erf) forms, a constant
    divided by a tensor (Reciprocal), Neg, Abs, Exp, Log and Sqrt,
    the element-wise maximum and minimum of two branches, and
    a global mean to (N,4) logits."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.gamma = nn.Parameter(torch.rand(4, 1, 1) + 0.5)
        self.beta = nn.Parameter(torch.randn(4, 1, 1) * 0.1)
        self.conv2 = nn.Conv2d(4, 4, 1)

    def forward(self, x):
        h = self.conv(x)
        m = h.mean((2, 3), keepdim=True)
        v = ((h - m) ** 2).mean((2, 3), keepdim=True)
        h = (h - m) / (v + 1e-5) ** 0.5 * self.gamma + self.beta
        g = 0.5 * h * (1.0 + torch.tanh(0.7978845608 * (h + 0.044715 * h ** 3)))
        a = self.conv2(g)
        e = F.gelu(a)  # the exact form: Div, Erf, Add, Mul
        y = torch.maximum(a, g) - 0.5 * torch.minimum(e, g)
        z = 2.0 / (2.5 + y * y) - y / 4.0 + torch.log(1.0 + torch.exp(-y.abs())) - torch.sqrt(y * y + 1.0)
        return z.mean((2, 3))  # (N,4) logits, so a fine-tuning test can train it


CASES = [
    ("elementary_arithmetic_opset11", ElementaryArithmetic, (2, 3, 6, 5), 11, True),
    ("elementary_arithmetic_opset13", ElementaryArithmetic, (2, 3, 6, 5), 13, True),
    ("elementary_arithmetic_opset17", ElementaryArithmetic, (2, 3, 6, 5), 17, False),
]


def generate():
    for index, (name, make, shape, opset, dynamic) in enumerate(CASES):
        gen_onnx.export(name, make, shape, opset, dynamic, 300 + index)


if __name__ == "__main__":
    torch.set_num_threads(1)
    generate()
