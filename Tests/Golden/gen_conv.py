"""Golden files for convolution: grouped (ResNeXt-style) and depthwise (MobileNet/Xception-style)."""
import torch
import torch.nn.functional as F
import golden


def case(name, g, n, c, h, w, o, k, stride, padding, groups, dilation=1):
    x = torch.randn(n, c, h, w, generator=g, requires_grad=True)
    weight = torch.randn(o, c // groups, k, k, generator=g, requires_grad=True)
    bias = torch.randn(o, generator=g, requires_grad=True)
    y = F.conv2d(x, weight, bias, stride=stride, padding=padding, dilation=dilation, groups=groups)
    dy = torch.randn(y.shape, generator=g)
    y.backward(dy)
    golden.write(name, {"x": x, "weight": weight, "bias": bias, "y": y, "dy": dy,
                        "dx": x.grad, "dweight": weight.grad, "dbias": bias.grad},
                 {"stride": stride, "padding": padding, "groups": groups, "dilation": dilation})


def generate():
    g = golden.seeded(21)
    case("conv_plain", g, 2, 3, 7, 6, 4, 3, 1, 1, 1)
    case("conv_grouped", g, 2, 4, 6, 7, 6, 3, 1, 1, 2)
    case("conv_depthwise", g, 3, 5, 7, 7, 5, 3, 2, 1, 5)
    case("conv_depthwise_multiplier", g, 1, 3, 6, 5, 6, 3, 1, 2, 3, 2)
