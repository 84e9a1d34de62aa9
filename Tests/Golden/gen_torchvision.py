"""ONNX fixtures of torchvision classification families not covered by gen_onnx.py, built from torchvision's own classes
at reduced width and depth (random weights, 10 classes) so each file stays well under 1 MiB; written through
gen_onnx.export (<name>.onnx, .input.npy, .output.npy in Tests/NeuroPlugin.Tests/Onnx/Fixtures)."""
import os

import torch

import gen_onnx


def convnext():
    """ConvNeXt: patchify stem, LayerNorm2d (permute, layer norm, permute: spelled out in ReduceMean/Sub/Pow/Sqrt/Div
    below opset 17), depthwise 7×7, Linear on (N,H,W,C) (MatMul by a constant), GELU, layer scale, downsampling."""
    from torchvision.models.convnext import CNBlockConfig, ConvNeXt
    return ConvNeXt([CNBlockConfig(8, 16, 1), CNBlockConfig(16, None, 1)], num_classes=10)


def mobilenet_v3_small():
    """MobileNetV3-Small at width 0.25: hardswish, squeeze-excitation with hardsigmoid, depthwise convolutions."""
    import torchvision
    return torchvision.models.mobilenet_v3_small(num_classes=10, width_mult=0.25)


def efficientnet():
    """EfficientNet-B0's blocks at width 0.25 and depth 0.25: MBConv with SiLU and squeeze-excitation."""
    from torchvision.models.efficientnet import EfficientNet, _efficientnet_conf
    setting, last_channel = _efficientnet_conf("efficientnet_b0", width_mult=0.25, depth_mult=0.25)
    return EfficientNet(setting, dropout=0.2, num_classes=10, last_channel=last_channel)


def regnet():
    """RegNet (X-style, group width 8): stem, residual bottleneck blocks with grouped 3×3 convolutions."""
    from torchvision.models.regnet import BlockParams, RegNet
    return RegNet(BlockParams.from_init_params(depth=4, w_0=8, w_a=8.0, w_m=2.0, group_width=8), stem_width=8, num_classes=10)


def shufflenet_v2():
    """ShuffleNetV2 with shufflenet_v2_x0_5's depth (4, 8, 4 units) at a third of its stage widths and a 64-channel conv5:
    channel shuffle (Reshape to (N,2,C/2,H,W), Transpose(0,2,1,3,4), Reshape back), chunk (Slice), depthwise 3×3."""
    from torchvision.models.shufflenetv2 import ShuffleNetV2
    return he_initialized(ShuffleNetV2([4, 8, 4], [8, 16, 32, 64, 64], num_classes=10))


def he_initialized(model):
    """model with its convolutions started from He's normal (fan in). From PyTorch's default start (and from the fan-out
    start some families use) the input's effect on the logits of a deep network fades to 1e-5 of them, and a fixture
    would test little beyond the biases."""
    import torch.nn as nn
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
    return model


def mnasnet():
    """MNASNet at depth multiplier 0.1 (its stem and 1280-channel head stay): inverted residuals with 3×3 and 5×5
    depthwise convolutions, batch norm momentum and eps of its own."""
    import torchvision
    return he_initialized(torchvision.models.MNASNet(alpha=0.1, num_classes=10))


def efficientnet_v2():
    """EfficientNetV2's blocks at a few channels: Fused-MBConv (one 3×3 expansion convolution, with and without the 1×1
    projection) then MBConv with squeeze-excitation, SiLU, batch norm eps 1e-3, a 64-channel head."""
    from functools import partial

    import torch.nn as nn
    from torchvision.models.efficientnet import EfficientNet, FusedMBConvConfig, MBConvConfig
    setting = [FusedMBConvConfig(1, 3, 1, 8, 8, 1), FusedMBConvConfig(4, 3, 2, 8, 16, 2), MBConvConfig(4, 3, 2, 16, 24, 2)]
    return he_initialized(EfficientNet(setting, dropout=0.2, last_channel=64, num_classes=10, norm_layer=partial(nn.BatchNorm2d, eps=1e-3)))


CASES = [
    ("zoo_convnext_tiny_opset13", convnext, (2, 3, 32, 32), 13, True),
    ("zoo_mobilenet_v3_small_0.25", mobilenet_v3_small, (2, 3, 48, 48), 13, True),
    ("zoo_efficientnet_b0_0.25", efficientnet, (2, 3, 48, 48), 13, True),
    ("zoo_regnet_x_g8", regnet, (2, 3, 32, 32), 13, True),
    ("zoo_shufflenet_v2_opset11", shufflenet_v2, (2, 3, 32, 32), 11, True),
    ("zoo_shufflenet_v2_opset17", shufflenet_v2, (2, 3, 32, 32), 17, False),
    ("zoo_mnasnet_0.1", mnasnet, (2, 3, 48, 48), 13, True),
    ("zoo_efficientnet_v2_tiny_opset17", efficientnet_v2, (2, 3, 32, 32), 17, True),
]


def write_gradient(name, module, x):
    """<name>.conv1_grad.npy: PyTorch's gradient of the mean cross-entropy (label of item i: i mod 10) with respect to
    the first convolution's weight, with each batch norm folded into the convolution before it as the exporter folds it
    (eval mode), so it is the gradient of the weight the imported model trains; and <name>.loss.npy, that loss. The first
    convolution's gradient comes back through every layer, ShuffleNet's channel shuffles included."""
    import copy
    import numpy as np
    import torch.nn as nn
    import torch.nn.functional as F
    from torch.nn.utils.fusion import fuse_conv_bn_eval
    fused = copy.deepcopy(module).eval()
    for sequence in fused.modules():
        if isinstance(sequence, nn.Sequential):
            for i in range(len(sequence) - 1):
                if isinstance(sequence[i], nn.Conv2d) and isinstance(sequence[i + 1], nn.BatchNorm2d):
                    sequence[i] = fuse_conv_bn_eval(sequence[i], sequence[i + 1])
                    sequence[i + 1] = nn.Identity()
    labels = torch.arange(x.shape[0]) % 10
    loss = F.cross_entropy(fused(x), labels)
    loss.backward()
    first = next(m for m in fused.modules() if isinstance(m, nn.Conv2d))
    gen_onnx.save_npy(os.path.join(gen_onnx.OUT, name + ".conv1_grad.npy"), first.weight.grad)
    gen_onnx.save_npy(os.path.join(gen_onnx.OUT, name + ".loss.npy"), loss.reshape(1))


if __name__ == "__main__":
    exported = gen_onnx.main(CASES, 400)
    if "zoo_shufflenet_v2_opset17" in exported:
        write_gradient("zoo_shufflenet_v2_opset17", *exported["zoo_shufflenet_v2_opset17"])
