"""ONNX fixtures of torchvision classification families not covered by gen_onnx.py, built from torchvision's own classes
at reduced width and depth (random weights, 10 classes) so each file stays well under 1 MiB; written through
gen_onnx.export (<name>.onnx, .input.npy, .output.npy in Tests/NeuroPlugin.Tests/Onnx/Fixtures)."""
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


FAMILIES = [
    ("zoo_convnext_tiny_opset13", convnext, (2, 3, 32, 32)),
    ("zoo_mobilenet_v3_small_0.25", mobilenet_v3_small, (2, 3, 48, 48)),
    ("zoo_efficientnet_b0_0.25", efficientnet, (2, 3, 48, 48)),
    ("zoo_regnet_x_g8", regnet, (2, 3, 32, 32)),
]
# every family at opset 13 with a dynamic batch axis
CASES = [(name, make, shape, 13, True) for name, make, shape in FAMILIES]


if __name__ == "__main__":
    gen_onnx.main(CASES, 400)
