"""Golden files of the transposed convolution (Runtime/Layers/ConvTranspose2d.cs): PyTorch's F.conv_transpose2d with
strides, padding, output_padding, dilation, groups, with and without bias. Tests:
Tests/NeuroPlugin.Tests/Toolkit/ConvTransposeGoldenTests.cs. Each file holds x, weight (C, O/groups, KH, KW), bias (if any), y, a
random dy, and dx, dweight, dbias."""
import torch
import torch.nn.functional as F

import golden


def case(name, g, n, c, h, w, o, kernel, stride=1, padding=0, output_padding=0, groups=1, dilation=1, bias=True):
    kh, kw = kernel if isinstance(kernel, tuple) else (kernel, kernel)
    x = torch.randn(n, c, h, w, generator=g, requires_grad=True)
    weight = torch.randn(c, o // groups, kh, kw, generator=g, requires_grad=True)
    b = torch.randn(o, generator=g, requires_grad=True) if bias else None
    y = F.conv_transpose2d(x, weight, b, stride=stride, padding=padding, output_padding=output_padding, groups=groups, dilation=dilation)
    dy = torch.randn(y.shape, generator=g)
    y.backward(dy)
    tensors = {"x": x, "weight": weight, "y": y, "dy": dy, "dx": x.grad, "dweight": weight.grad}
    if bias:
        tensors.update({"bias": b, "dbias": b.grad})
    pair = lambda v: list(v) if isinstance(v, tuple) else [v, v]
    golden.write(name, tensors, {"stride": pair(stride), "padding": pair(padding), "outputPadding": pair(output_padding),
                                 "groups": groups, "dilation": pair(dilation), "bias": bias})


def generate():
    g = golden.seeded(31)
    case("convtranspose_plain", g, 2, 3, 5, 4, 4, 3)
    case("convtranspose_stride2", g, 2, 4, 4, 5, 3, 3, stride=2, padding=1, output_padding=1)
    case("convtranspose_k2s2", g, 1, 2, 3, 3, 5, 2, stride=2, bias=False)
    case("convtranspose_grouped_dilated", g, 2, 4, 4, 4, 6, 3, stride=(2, 1), padding=(1, 2), groups=2, dilation=(1, 2))
    case("convtranspose_depthwise", g, 1, 3, 5, 5, 3, (3, 2), stride=3, padding=(0, 1), output_padding=(2, 1), groups=3)


if __name__ == "__main__":
    torch.set_num_threads(1)
    generate()
