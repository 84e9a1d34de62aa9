"""ONNX fixtures for the general operators: functions written out in elementary operations, code built of the
shape ops, reductions and softmax over any axis, matrix products and a small vision transformer as PyTorch exports
them, at opsets 11, 13 and 17 (writes Tests/NeuroPlugin.Tests/Onnx/Fixtures/<name>.onnx, .input.npy, .output.npy
through gen_onnx.export)."""
import torch
import torch.nn as nn
import torch.nn.functional as F

import gen_onnx


class ConvolutionsAndScale(nn.Module):
    """The parameters of the elementary-operation modules: a 3→4 convolution, a learnable per-channel scale and shift
    for the normalization written out after it, and a 1×1 convolution."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.gamma = nn.Parameter(torch.rand(4, 1, 1) + 0.5)
        self.beta = nn.Parameter(torch.randn(4, 1, 1) * 0.1)
        self.conv2 = nn.Conv2d(4, 4, 1)


class ElementaryArithmetic(ConvolutionsAndScale):
    """Broadcasting Add/Sub/Mul/Div/Pow/Min/Max of tensors and constants: an instance norm spelled with ReduceMean, Sub,
    Pow, Add and Div (a learnable per-channel scale and shift after it), GELU's tanh and exact (Erf) forms, a constant
    divided by a tensor (Reciprocal), Neg, Abs, Exp, Log and Sqrt,
    the element-wise maximum and minimum of two branches, and
    a global mean to (N,4) logits."""

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


class GeneralActivations(nn.Module):
    """The activations beyond the fixed forms: PReLU with one slope per channel and with one shared, GELU exact and tanh
    (PyTorch 1.13 writes both out in Div/Erf/Add/Mul and Pow/Mul/Add/Tanh), hardsigmoid and hardswish, a clamp to
    [−0.5, 0.8] and one with a lower bound only (Clip), and a global mean to (N,4) logits."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.prelu_channels = nn.PReLU(4)
        self.prelu_shared = nn.PReLU()
        self.conv2 = nn.Conv2d(4, 4, 1)
        with torch.no_grad():
            self.prelu_channels.weight.copy_(torch.tensor([0.1, -0.2, 0.3, 0.6]))

    def forward(self, x):
        h = self.prelu_channels(self.conv(x))
        g = F.gelu(h) + F.gelu(self.prelu_shared(h), approximate="tanh")
        a = self.conv2(g)
        c = torch.clamp(a, -0.5, 0.8) + F.hardswish(a) * F.hardsigmoid(a) + torch.clamp(a, min=-0.2)
        return c.mean((2, 3))
class ShapeOps(nn.Module):
    """The shape ops as ordinary code writes them: split by sizes and into equal chunks (Split), flip and strided or
    negative slices (Slice), a list index with a repeat and a scalar index (Gather), unsqueeze and squeeze, cat along
    channels, height and width (Concat), reshape with -1, transpose and permute (Transpose) and flatten, to (N,4) logits."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 8, 3, padding=1)
        self.fc = nn.Linear(84, 4)

    def forward(self, x):
        h = torch.relu(self.conv(x))                       # (N,8,6,5)
        a, b = torch.split(h, [3, 5], dim=1)               # (N,3,6,5), (N,5,6,5)
        c, d = h.chunk(2, dim=2)                           # (N,8,3,5) twice
        q = torch.cat([d, c.flip(3)], dim=3)               # (N,8,3,10)
        r = q[:, :, 1:, ::3]                               # (N,8,2,4)
        g = r[:, [0, 2, 2, 5]]                             # (N,4,2,4)
        s = h[:, 1].unsqueeze(1)                           # (N,1,6,5)
        m = torch.cat([a, s], dim=1)                       # (N,4,6,5)
        z = m.reshape(-1, 4, 30).transpose(1, 2)           # (N,30,4)
        e = b[:, :4, :1].squeeze(2).permute(0, 2, 1)       # (N,5,4)
        f = torch.cat([z[:, -8:], e], dim=1)               # (N,13,4)
        return self.fc(torch.cat([g.flatten(1), f.flatten(1)], dim=1))


class Reductions(nn.Module):
    """Reductions and softmax over any axis as ordinary code writes them: a layer norm over the width spelled out (mean,
    centred square mean, sqrt, div, a learnable scale and shift: ReduceMean/Sub/Pow/Add/Sqrt/Div/Mul/Add), GELU's tanh form
    written out (Pow/Mul/Add/Tanh), softmax over the channels (opset 11: Transpose, Softmax, Transpose), log_softmax over
    the width, a sum over the width (ReduceSum: axes an attribute before opset 13, an input from it), amax over height and
    width, amin over the height and a mean, to (N,4) logits."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.gamma = nn.Parameter(torch.rand(5) + 0.5)
        self.beta = nn.Parameter(torch.randn(5) * 0.1)
        self.fc = nn.Linear(28, 4)

    def forward(self, x):
        h = self.conv(x)                                               # (N,4,6,5)
        m = h.mean(-1, keepdim=True)
        v = ((h - m) ** 2).mean(-1, keepdim=True)
        h = (h - m) / torch.sqrt(v + 1e-5) * self.gamma + self.beta    # layer norm over the width
        g = 0.5 * h * (1.0 + torch.tanh(0.7978845608 * (h + 0.044715 * torch.pow(h, 3))))
        p = torch.softmax(g, dim=1)                                    # over the channels
        q = torch.log_softmax(g, dim=3)                                # over the width
        s = (p * q).sum(dim=3)                                         # (N,4,6)
        a = g.amax(dim=(2, 3))                                         # (N,4)
        b = g.amin(dim=2).mean(-1)                                     # (N,4)
        return self.fc(torch.cat([s.flatten(1), a - b], dim=1))


class MatMuls(nn.Module):
    """torch.matmul as ordinary code writes it: self-attention over the pixels (q = h·W_q by a learnable matrix, q·hᵀ of two
    tensors with hᵀ a transpose, softmax over the last axis, ·h), a Linear on (N,T,K) (MatMul by Wᵀ, Add), a learnable
    matrix from the left (W·x), to (N,4) logits."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.query = nn.Parameter(torch.randn(4, 4) * 0.5)
        self.proj = nn.Linear(4, 5)
        self.left = nn.Parameter(torch.randn(3, 6) * 0.5)
        self.fc = nn.Linear(15, 4)

    def forward(self, x):
        h = self.conv(x).flatten(2).transpose(1, 2)                    # (N,30,4)
        q = h @ self.query                                             # (N,30,4)
        attention = torch.softmax(q @ h.transpose(1, 2) / 2.0, dim=-1) # (N,30,30)
        p = self.proj(attention @ h)                                   # (N,30,5)
        w = self.left @ p[:, :6]                                       # (N,3,5)
        return self.fc(w.flatten(1))


class VisionTransformerBlock(nn.Module):
    """A ViT as ordinary code writes it, at a few channels: patch embedding (a 4×4 convolution of stride 4, flatten(2),
    transpose(1, 2)), a learnable position embedding, one pre-norm encoder block (LayerNorm, multi-head self-attention with
    2 heads from one qkv Linear, chunk, reshape to (N,T,heads,d) and transpose, q·kᵀ/√d, softmax, ·v, heads merged back,
    projection, residual; LayerNorm, GELU MLP, residual), a final LayerNorm, the mean over the tokens and a Linear head."""

    def __init__(self):
        super().__init__()
        self.patch = nn.Conv2d(3, 8, 4, stride=4)
        self.position = nn.Parameter(torch.randn(1, 16, 8) * 0.1)
        self.ln1 = nn.LayerNorm(8)
        self.qkv = nn.Linear(8, 24)
        self.proj = nn.Linear(8, 8)
        self.ln2 = nn.LayerNorm(8)
        self.fc1 = nn.Linear(8, 16)
        self.fc2 = nn.Linear(16, 8)
        self.ln = nn.LayerNorm(8)
        self.head = nn.Linear(8, 10)
        for norm in (self.ln1, self.ln2, self.ln):
            with torch.no_grad():
                norm.weight.copy_(torch.rand(8) + 0.5)
                norm.bias.copy_(torch.randn(8) * 0.2)

    def forward(self, x):
        h = self.patch(x).flatten(2).transpose(1, 2) + self.position   # (N,16,8) tokens
        n, t, e = h.shape
        q, k, v = self.qkv(self.ln1(h)).chunk(3, dim=-1)
        q, k, v = (z.reshape(n, t, 2, e // 2).transpose(1, 2) for z in (q, k, v))  # (N,2,16,4)
        attention = torch.softmax(q @ k.transpose(-2, -1) / 2.0, dim=-1)
        h = h + self.proj((attention @ v).transpose(1, 2).reshape(n, t, e))
        h = h + self.fc2(F.gelu(self.fc1(self.ln2(h))))
        return self.head(self.ln(h).mean(1))


class ElementaryNorms(ConvolutionsAndScale):
    """Normalizations written out in elementary operations: a group norm (two groups of two channels) through a reshape to
    (N,G,−1), ReduceMean, Sub, Pow, Sqrt and Div and back, with a learnable per-channel scale and shift; and a local
    normalization by the average of the squares around each pixel, x / √(avg_pool(x², 3×3, stride 1, padding 1) + ε);
    a global mean to (N,4) logits."""

    def forward(self, x):
        h = self.conv(x)
        n, c, height, width = h.shape
        g = h.reshape(n, 2, -1)
        m = g.mean(-1, keepdim=True)
        v = ((g - m) ** 2).mean(-1, keepdim=True)
        h = ((g - m) / torch.sqrt(v + 1e-5)).reshape(n, c, height, width) * self.gamma + self.beta
        a = self.conv2(torch.relu(h))
        a = a / torch.sqrt(F.avg_pool2d(a * a, 3, 1, 1) + 1e-3)
        return a.mean((2, 3))


class SequenceFirst(nn.Module):
    """Sequence-first code, as nn.MultiheadAttention and nn.TransformerEncoderLayer take it by default (batch_first=False):
    (L,N,E) tensors, whose batch axis is second. The patches of a 2×2 convolution of stride 2 as (9,N,8) by
    flatten(2).permute(2, 0, 1); a LayerNorm over E (LayerNormalization at opset 17, spelled out below); a Linear; the
    LayerNorm's output and the Linear's ReLU joined along E (Concat); a layer norm over E written out (mean, centred squares,
    sqrt, div: reductions and arithmetic of two views); the mean, the max and the sum over the sequence (ReduceMean,
    ReduceMax, ReduceSum over L) to (N,16), and a Linear head to (N,4) logits."""

    def __init__(self):
        super().__init__()
        self.patch = nn.Conv2d(3, 8, 2, stride=2)
        self.ln = nn.LayerNorm(8)
        self.fc = nn.Linear(8, 8)
        self.head = nn.Linear(16, 4)
        with torch.no_grad():
            self.ln.weight.copy_(torch.rand(8) + 0.5)
            self.ln.bias.copy_(torch.randn(8) * 0.2)

    def forward(self, x):
        h = self.patch(x).flatten(2).permute(2, 0, 1)                # (L,N,E) = (9,N,8)
        h = self.ln(h)
        h = torch.cat([h, torch.relu(self.fc(h))], dim=2)            # (9,N,16)
        m = h - h.mean(-1, keepdim=True)
        h = m / torch.sqrt((m * m).mean(-1, keepdim=True) + 1e-5)
        return self.head(h.mean(0) + h.amax(0) - 0.1 * h.sum(0))     # (N,16) → (N,4)


MODULES = [
    ("elementary_arithmetic", ElementaryArithmetic, (11, 13, 17)),
    ("general_activations", GeneralActivations, (11, 17)),
    ("shape_ops", ShapeOps, (11, 13, 17)),
    ("reductions", Reductions, (11, 13, 17)),
    ("matmuls", MatMuls, (11, 13, 17)),
]
# every module on an input (2,3,6,5), at each of its opsets; opset 17's exports keep a fixed batch axis; the vision
# transformer on (2,3,16,16) (16 patches of 4×4)
CASES = [(f"{name}_opset{opset}", module, (2, 3, 6, 5), opset, opset != 17) for name, module, opsets in MODULES for opset in opsets] + [
    ("vit_block_opset13", VisionTransformerBlock, (2, 3, 16, 16), 13, True),
    ("vit_block_opset17", VisionTransformerBlock, (2, 3, 16, 16), 17, False),
]
# after the others, so their seeds stay
CASES += [(f"elementary_norms_opset{opset}", ElementaryNorms, (2, 3, 6, 5), opset, opset != 17) for opset in (11, 13, 17)]

# own seeds from 320: views that move the batch axis read by reductions, LayerNorm, Concat and arithmetic of two views
SEQUENCE_FIRST_CASES = gen_onnx.at_opsets("sequence_first", SequenceFirst, (3, 3, 6, 6), {13: True, 17: True})


if __name__ == "__main__":
    gen_onnx.main(CASES, 300)
    exported = gen_onnx.main(SEQUENCE_FIRST_CASES, 320)
    if "sequence_first_opset17" in exported:
        from gen_torchvision_attention import write_gradients
        write_gradients("sequence_first_opset17", *exported["sequence_first_opset17"], {"patch": lambda m: m.patch.weight})
