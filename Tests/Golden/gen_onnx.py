"""ONNX fixtures: small PyTorch networks exported by torch.onnx.export, with an input and PyTorch's output.

Writes Tests/NeuroPlugin.Tests/Onnx/Fixtures/<name>.onnx, <name>.input.npy and <name>.output.npy (float32,
C order, NCHW). The C# tests import each model, run it on both backends and compare with the .npy output
(PyTorch) and with ONNX Runtime. Needs only Debian's PyTorch (no onnx package):
    /usr/bin/python3 Tests/Golden/generate.py      (or: /usr/bin/python3 Tests/Golden/gen_onnx.py)
Each case covers ops and attribute combinations as PyTorch's exporter writes them at one opset.
"""
import os
import sys
import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Interop"))
from pytorch_lenet5 import LeNet5  # noqa: E402  (after the path)

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "NeuroPlugin.Tests", "Onnx", "Fixtures")


class ConvPoolActivations(nn.Module):
    """Conv (stride, dilation, no bias), Pad folded into Conv, BatchNorm2d, constant Mul/Add/Sub/Div, pools, activations."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(2, 4, 3, stride=1, padding=1)
        self.bn1 = nn.BatchNorm2d(4)
        self.conv2 = nn.Conv2d(4, 4, 3, stride=2, dilation=2, padding=2, bias=False)
        self.conv3 = nn.Conv2d(4, 3, (2, 3))
        self.conv4 = nn.Conv2d(3, 3, 1)

    def forward(self, x):
        x = self.bn1(F.leaky_relu(self.conv1(x), 0.2))  # after conv, the exporter would fold it into the conv
        x = self.conv2(x) * 0.5 + 0.25
        x = F.avg_pool2d(x, 3, stride=1, padding=1, count_include_pad=False)
        x = torch.sigmoid(self.conv3(F.pad(x, (1, 0, 2, 1))))
        x = torch.tanh(self.conv4(x) / 2.0 - 0.1)
        x = F.max_pool2d(x, 3, stride=2, padding=1)
        return F.avg_pool2d(x, 2, stride=1)


class HardActivations(nn.Module):
    """ReLU6 (Clip), HardSigmoid, HardSwish, global pooling, Linear, BatchNorm1d, Softmax."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(3, 4, 1)
        self.bn = nn.BatchNorm1d(8)
        self.fc = nn.Linear(8, 5)

    def forward(self, x):
        a = F.hardswish(F.relu6(self.conv(x)))
        b = F.hardsigmoid(self.conv2(x) * 3.0)
        x = torch.cat([F.adaptive_avg_pool2d(a, 1), F.adaptive_max_pool2d(b, 1)], 1)
        x = self.bn(torch.flatten(x, 1))
        return F.softmax(self.fc(x), dim=1)


class ResidualSqueezeExcite(nn.Module):
    """Residual Add, Concat, squeeze-and-excitation (ReduceMean, 1×1 convs, Mul per channel), Gemm with alpha/beta, MatMul + Add."""

    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(3, 3, 3, padding=1)
        self.b = nn.Conv2d(3, 3, 3, padding=1)
        self.squeeze = nn.Conv2d(6, 2, 1)
        self.excite = nn.Conv2d(2, 6, 1)
        self.w = nn.Parameter(torch.randn(6, 4) * 0.3)
        self.bias = nn.Parameter(torch.randn(4) * 0.1)
        self.gw = nn.Parameter(torch.randn(4, 3) * 0.3)
        self.gb = nn.Parameter(torch.randn(3) * 0.1)

    def forward(self, x):
        y = F.relu(self.b(F.relu(self.a(x))) + x)
        y = torch.cat([y, x], 1)
        s = torch.sigmoid(self.excite(F.relu(self.squeeze(y.mean((2, 3), keepdim=True)))))
        y = y * s
        v = torch.matmul(F.adaptive_avg_pool2d(y, 1).flatten(1), self.w) + self.bias
        return torch.addmm(self.gb, v, self.gw, beta=0.5, alpha=2.0)


class TorchvisionBlocks(nn.Module):
    """ResNet and GoogLeNet as torchvision builds them, at a few channels: torchvision's own BasicBlock and Bottleneck
    (with 1×1 projection shortcuts) and Inception module (BasicConv2d with eps 0.001, ceil-mode 3×3 max pool branch)."""

    def __init__(self):
        super().__init__()
        from torchvision.models.googlenet import Inception
        from torchvision.models.resnet import BasicBlock, Bottleneck
        self.stem = nn.Sequential(nn.Conv2d(3, 8, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(inplace=True),
                                  nn.MaxPool2d(3, stride=2, padding=1))
        self.basic1 = BasicBlock(8, 8)
        self.basic2 = BasicBlock(8, 12, stride=2, downsample=nn.Sequential(nn.Conv2d(8, 12, 1, stride=2, bias=False), nn.BatchNorm2d(12)))
        self.bottleneck = Bottleneck(12, 4, downsample=nn.Sequential(nn.Conv2d(12, 16, 1, bias=False), nn.BatchNorm2d(16)))
        self.inception = Inception(16, 4, 4, 6, 2, 3, 3)
        self.fc = nn.Linear(16, 10)

    def forward(self, x):
        x = self.bottleneck(self.basic2(self.basic1(self.stem(x))))
        x = self.inception(x)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


class Interpolations(nn.Module):
    """F.interpolate, bilinear with align_corners=False, to a fixed size and by scale factors (enlarging and
    shrinking): the exporter writes Resize (mode linear, pytorch_half_pixel) with sizes or scales."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(2, 3, 3, padding=1)

    def forward(self, x):
        x = F.interpolate(self.conv(x), size=(9, 7), mode="bilinear", align_corners=False)
        x = F.interpolate(x, scale_factor=(0.5, 0.75), mode="bilinear", align_corners=False)
        return F.interpolate(torch.relu(x), scale_factor=2.0, mode="bilinear", align_corners=False)


def squeezenet1_1():
    import torchvision
    return torchvision.models.squeezenet1_1(num_classes=10)


def mobilenet_v2():
    import torchvision
    return torchvision.models.mobilenet_v2(num_classes=10, width_mult=0.25)


def densenet():
    """torchvision's DenseNet class (dense layers BN-ReLU-1×1-BN-ReLU-3×3, transitions, concatenations) at growth 8."""
    import torchvision
    return torchvision.models.DenseNet(growth_rate=8, block_config=(2, 3), num_init_features=16, bn_size=2, num_classes=10)


def at_opsets(name, module, shape, opsets, pattern=False):
    """One case per opset of `opsets` (opset → dynamic batch axis, in the order given), named NAME_opsetN; with pattern,
    on pattern_input(shape) (export's pattern)."""
    return [(f"{name}_opset{opset}", module, shape, opset, dynamic, *([True] if pattern else [])) for opset, dynamic in opsets.items()]


CASES = [
    # name, module, input shape, opset, dynamic batch axis
    ("lenet5", LeNet5, (2, 1, 28, 28), 13, True),
    *at_opsets("conv_pool_activations", ConvPoolActivations, (2, 2, 9, 8), {11: True, 17: True}),
    *at_opsets("hard_activations", HardActivations, (3, 3, 5, 5), {14: True, 9: False}),
    *at_opsets("residual_se", ResidualSqueezeExcite, (2, 3, 6, 6), {13: True, 7: False}),
    # zoo networks exported from torchvision itself, random weights, at reduced width/classes so the files stay small
    ("zoo_squeezenet1_1", squeezenet1_1, (2, 3, 64, 64), 13, True),
    ("zoo_mobilenet_v2_0.25", mobilenet_v2, (2, 3, 48, 48), 13, True),
    ("zoo_densenet_g8", densenet, (2, 3, 32, 32), 13, True),
    ("zoo_resnet_googlenet_blocks", TorchvisionBlocks, (2, 3, 32, 32), 11, True),
    *at_opsets("interpolations", Interpolations, (2, 2, 5, 6), {11: True, 13: False}),
]


def randomize_batch_norm(module, generator):
    """Non-trivial running statistics and affine parameters, so eval-mode batch norm is really tested."""
    for m in module.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=generator) * 0.5)
            m.running_var.copy_(torch.rand(n, generator=generator) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=generator) + 0.5)
            m.bias.data.copy_(torch.randn(n, generator=generator) * 0.2)


def save_npy(path, value):
    np.save(path, np.ascontiguousarray(value.detach().numpy().astype(np.float32)))


def pattern_input(shape):
    """The input a test makes itself (OnnxRun.PatternInput), for an image too large to keep as a file: element i in row-major
    order is ((i·40503 + 12345) mod 65536) / 32768 − 1, exact in float32."""
    count = int(np.prod(shape))
    values = ((np.arange(count, dtype=np.int64) * 40503 + 12345) % 65536).astype(np.float64) / 32768.0 - 1.0
    return torch.from_numpy(values.astype(np.float32).reshape(shape))


def export(name, make, shape, opset, dynamic, seed, pattern=False):
    """Exports make() (random weights from seed, randomized batch norm statistics, eval mode) at opset, with an input of
    shape and PyTorch's output: <name>.onnx, <name>.input.npy, <name>.output.npy; with pattern, the input is
    pattern_input(shape) and no .input.npy is written. Returns the module and the input."""
    torch.manual_seed(100 + seed)
    module = make()
    generator = torch.Generator().manual_seed(200 + seed)
    with torch.no_grad():
        randomize_batch_norm(module, generator)
    module.eval()
    x = pattern_input(shape) if pattern else torch.randn(*shape, generator=generator)
    with torch.no_grad():
        y = module(x)
    path = os.path.join(OUT, name + ".onnx")
    torch.onnx.export(module, (x,), path, opset_version=opset, input_names=["input"], output_names=["output"],
                      dynamic_axes={"input": {0: "N"}, "output": {0: "N"}} if dynamic else None,
                      do_constant_folding=True)
    if not pattern:
        save_npy(os.path.join(OUT, name + ".input.npy"), x)
    save_npy(os.path.join(OUT, name + ".output.npy"), y)
    print(f"  {name}: opset {opset}, {os.path.getsize(path)} bytes")
    return module, x


def export_cases(cases, first_seed, only=None):
    """Exports every case (name, make, shape, opset, dynamic[, pattern]) whose name starts with only (all when None), the
    i-th with seed first_seed + i: each generator script gives its cases their own seed range. Returns {name: (module,
    input)} of the cases exported."""
    os.makedirs(OUT, exist_ok=True)
    exported = {}
    for index, (name, make, shape, opset, dynamic, *pattern) in enumerate(cases):
        if only is None or name.startswith(only):
            exported[name] = export(name, make, shape, opset, dynamic, first_seed + index, *pattern)
    return exported


def main(cases, first_seed):
    """A generator script's entry point: exports its cases (seeds from first_seed) on one thread; the optional first
    argument keeps only the cases whose name starts with it. Returns export_cases' dictionary of what was exported."""
    torch.set_num_threads(1)
    return export_cases(cases, first_seed, sys.argv[1] if len(sys.argv) > 1 else None)


if __name__ == "__main__":
    main(CASES, 0)
