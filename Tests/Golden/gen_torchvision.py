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


def resnet_narrowed(groups=1, width_per_group=64, block=None, layers=(1, 1, 1, 1), stem=8, planes=(4, 8, 16, 32)):
    """torchvision's ResNet class narrowed: its 64-channel stem and its stages of 64, 128, 256 and 512 planes replaced by
    `stem` and `planes` (the class fixes those widths; its own _make_layer builds the narrow stages of `layers` blocks, so
    the blocks, strides and projection shortcuts are the class's, and its own forward runs them). By default Bottleneck
    blocks, one per stage, with a stem of 8 and 4, 8, 16, 32 planes."""
    import torch.nn as nn
    from torchvision.models.resnet import Bottleneck, ResNet
    block = block or Bottleneck
    model = ResNet(block, list(layers), groups=groups, width_per_group=width_per_group, num_classes=10)
    model.conv1, model.bn1, model.inplanes = nn.Conv2d(3, stem, 7, stride=2, padding=3, bias=False), nn.BatchNorm2d(stem), stem
    model.layer1 = model._make_layer(block, planes[0], layers[0])
    model.layer2 = model._make_layer(block, planes[1], layers[1], stride=2)
    model.layer3 = model._make_layer(block, planes[2], layers[2], stride=2)
    model.layer4 = model._make_layer(block, planes[3], layers[3], stride=2)
    model.fc = nn.Linear(planes[3] * block.expansion, 10)
    return he_initialized(model)


def resnet18():
    """ResNet-18 (torchvision's BasicBlock, two per stage) at 1/16 of its widths: a stem of 4 channels and stages of 4, 8,
    16, 32 planes, narrowed as resnet_narrowed says; as in resnet18, layer1 keeps identity shortcuts and layers 2–4 open
    with a stride-2 block and a 1×1 projection shortcut."""
    from torchvision.models.resnet import BasicBlock
    return resnet_narrowed(block=BasicBlock, layers=(2, 2, 2, 2), stem=4, planes=(4, 8, 16, 32))


def resnext():
    """ResNeXt's blocks (resnext50_32x4d: 32 groups of width 4 per 64 planes) at 4 groups of width 16 per 64 planes,
    narrowed as resnet_narrowed says: grouped 3×3 convolutions in every bottleneck."""
    return resnet_narrowed(groups=4, width_per_group=16)


def wide_resnet():
    """Wide ResNet's blocks (wide_resnet50_2: bottleneck width twice the planes, width_per_group 128), narrowed as
    resnet_narrowed says."""
    return resnet_narrowed(groups=1, width_per_group=128)


def inception_v3(divisor=16):
    """torchvision's Inception3 (no auxiliary classifier, no input transform) with every BasicConv2d at 1/divisor of its
    channels (the class's widths, 32…2048, are multiples of 16; at 1/32 each module's branches still add up to the next
    module's input; the 3 input channels stay), through the class's inception_blocks hook, and a Linear(2048/divisor, 10)
    head: the stem, InceptionA–E with their 1×7/7×1 factorized and split branches, average-pool branches, stride-2
    reductions, on a 75×75 image (the class's smallest)."""
    import torch.nn as nn
    from torchvision.models.inception import (BasicConv2d, Inception3, InceptionA, InceptionAux, InceptionB, InceptionC,
                                              InceptionD, InceptionE)

    def narrow(in_channels, out_channels, **kwargs):
        return BasicConv2d(in_channels if in_channels == 3 else in_channels // divisor, out_channels // divisor, **kwargs)

    blocks = [narrow] + [lambda *args, block=b, **kwargs: block(*args, conv_block=narrow, **kwargs)
                         for b in (InceptionA, InceptionB, InceptionC, InceptionD, InceptionE, InceptionAux)]
    model = Inception3(num_classes=10, aux_logits=False, transform_input=False, inception_blocks=blocks, init_weights=False)
    model.fc = nn.Linear(2048 // divisor, 10)
    return he_initialized(model)


def googlenet(divisor=8):
    """torchvision's GoogLeNet (no auxiliary classifiers, no input transform) with every BasicConv2d at 1/divisor of its
    channels (the class's widths, 64…384, are multiples of 8; at 1/16 each module's branches still add up to the next
    module's input; the 3 input channels stay), through the class's blocks hook, and a Linear(1024/divisor, 10) head: the
    7×7 stem, max pools with ceil_mode, Inception modules with their 1×1, 3×3 (the class's "5×5" branch is a 3×3), and
    pool-projection branches, on a 64×64 image."""
    import torch.nn as nn
    from torchvision.models.googlenet import BasicConv2d, GoogLeNet, Inception, InceptionAux

    def narrow(in_channels, out_channels, **kwargs):
        return BasicConv2d(in_channels if in_channels == 3 else in_channels // divisor, out_channels // divisor, **kwargs)

    def inception(*args, **kwargs):
        return Inception(*args, conv_block=narrow, **kwargs)

    model = GoogLeNet(num_classes=10, aux_logits=False, transform_input=False, init_weights=False,
                      blocks=[narrow, inception, InceptionAux])
    model.fc = nn.Linear(1024 // divisor, 10)
    return he_initialized(model)


def alexnet():
    """torchvision's AlexNet with its layers narrowed (convolutions of 64, 192, 384, 256, 256 channels to 8, 16, 16, 16, 16,
    the 4096-wide classifier to 32), the class's own structure otherwise: 11×11 stride-4 stem, max pools, adaptive average
    pooling to 6×6, dropout, three Linear layers."""
    import torch.nn as nn
    import torchvision
    model = torchvision.models.AlexNet(num_classes=10)
    widths = iter([8, 16, 16, 16, 16])
    channels = 3
    for i, m in enumerate(model.features):
        if isinstance(m, nn.Conv2d):
            width = next(widths)
            model.features[i] = nn.Conv2d(channels, width, m.kernel_size, m.stride, m.padding)
            channels = width
    model.classifier[1] = nn.Linear(channels * 6 * 6, 32)
    model.classifier[4] = nn.Linear(32, 32)
    model.classifier[6] = nn.Linear(32, 10)
    return he_initialized(model)


def vgg11():
    """torchvision's VGG with VGG-11's configuration at 1/32 of its widths (64…512 to 2…16) and the 4096-wide classifier at
    16: 3×3 convolutions, five max pools, adaptive average pooling to 7×7, dropout, three Linear layers."""
    import torch.nn as nn
    from torchvision.models.vgg import VGG, cfgs, make_layers
    model = VGG(make_layers([v if v == "M" else v // 32 for v in cfgs["A"]]), num_classes=10, init_weights=False)
    model.classifier[0] = nn.Linear(16 * 7 * 7, 16)
    model.classifier[3] = nn.Linear(16, 16)
    model.classifier[6] = nn.Linear(16, 10)
    return he_initialized(model)



def with_head(model, convolution, classifier, width):
    """model with its last 1×1 convolution (model's module path `convolution`, a Conv2d, or a Conv2dNormActivation whose
    first module is one, with the batch norm after it) narrowed to `width` channels and its classifier Linear (path
    `classifier`) reading them: the families' 1024- and 1280-channel heads are most of their files at reduced width."""
    import torch.nn as nn
    parent_path, _, name = convolution.rpartition(".")
    block = model.get_submodule(convolution)
    conv = block if isinstance(block, nn.Conv2d) else block[0]
    narrowed = nn.Conv2d(conv.in_channels, width, conv.kernel_size, conv.stride, conv.padding, bias=conv.bias is not None)
    if isinstance(block, nn.Conv2d):
        setattr(model.get_submodule(parent_path), name, narrowed)
        following = model.get_submodule(parent_path)[int(name) + 1]  # MNASNet: Conv2d, BatchNorm2d, ReLU in one Sequential
        model.get_submodule(parent_path)[int(name) + 1] = type(following)(width, momentum=following.momentum, eps=following.eps)
    else:
        block[0] = narrowed
        block[1] = type(block[1])(width, momentum=block[1].momentum, eps=block[1].eps)
    parent_path, _, name = classifier.rpartition(".")
    setattr(model.get_submodule(parent_path), name, nn.Linear(width, getattr(model.get_submodule(classifier), "out_features")))
    return he_initialized(model)


def squeezenet_narrow():
    """torchvision's SqueezeNet 1.1 with its stem convolution and every Fire module at 1/8 of the class's widths (64…512 to
    8…64; squeeze planes 16…64 to 2…8) and the classifier's 1×1 convolution reading 64 channels: Fire's concatenated 1×1
    and 3×3 expansions, max pools with ceil_mode, the convolutional classifier and adaptive average pooling."""
    import torch.nn as nn
    import torchvision
    from torchvision.models.squeezenet import Fire
    model = torchvision.models.squeezenet1_1(num_classes=10)
    for i, m in enumerate(model.features):
        if isinstance(m, nn.Conv2d):
            model.features[i] = nn.Conv2d(3, m.out_channels // 8, m.kernel_size, m.stride)
        elif isinstance(m, Fire):
            model.features[i] = Fire(m.inplanes // 8, m.squeeze.out_channels // 8, m.expand1x1.out_channels // 8, m.expand3x3.out_channels // 8)
    model.classifier[1] = nn.Conv2d(512 // 8, 10, 1)
    return he_initialized(model)


def mobilenet_v2_narrow():
    """MobileNetV2 at width 0.1 (channels 8…32, expansion 6) with a 64-channel head instead of 1280: inverted residuals,
    ReLU6 (Clip), depthwise 3×3 convolutions."""
    import torchvision
    return with_head(torchvision.models.mobilenet_v2(num_classes=10, width_mult=0.1), "features.18", "classifier.1", 64)


def mobilenet_v3_small_narrow():
    """MobileNetV3-Small at width 0.1 with a 32-wide classifier: hardswish, squeeze-excitation with hardsigmoid."""
    from torchvision.models.mobilenetv3 import MobileNetV3, _mobilenet_v3_conf
    setting, _ = _mobilenet_v3_conf("mobilenet_v3_small", width_mult=0.1)
    return he_initialized(MobileNetV3(setting, last_channel=32, num_classes=10))


def efficientnet_narrow():
    """EfficientNet-B0's blocks at width 0.1 and depth 0.25: MBConv with SiLU and squeeze-excitation."""
    from torchvision.models.efficientnet import EfficientNet, _efficientnet_conf
    setting, last_channel = _efficientnet_conf("efficientnet_b0", width_mult=0.1, depth_mult=0.25)
    return he_initialized(EfficientNet(setting, dropout=0.2, num_classes=10, last_channel=last_channel))


def mnasnet_narrow():
    """MNASNet at depth multiplier 0.1 with a 64-channel head instead of 1280 (as mnasnet says otherwise)."""
    import torchvision
    return with_head(torchvision.models.MNASNet(alpha=0.1, num_classes=10), "layers.14", "classifier.1", 64)


CASES = [
    ("zoo_convnext_tiny_opset13", convnext, (2, 3, 32, 32), 13, True),
    ("zoo_mobilenet_v3_small_0.25", mobilenet_v3_small, (2, 3, 48, 48), 13, True),
    ("zoo_efficientnet_b0_0.25", efficientnet, (2, 3, 48, 48), 13, True),
    ("zoo_regnet_x_g8", regnet, (2, 3, 32, 32), 13, True),
    *gen_onnx.at_opsets("zoo_shufflenet_v2", shufflenet_v2, (2, 3, 32, 32), {11: True, 17: False}),
    ("zoo_mnasnet_0.1", mnasnet, (2, 3, 48, 48), 13, True),
    ("zoo_efficientnet_v2_tiny_opset17", efficientnet_v2, (2, 3, 32, 32), 17, True),
]


# own seeds from 600 (CASES start at 400, as gen_onnx_norms.py's do)
CNN_CASES = [
    *gen_onnx.at_opsets("zoo_resnext_g4", resnext, (2, 3, 32, 32), {11: True, 17: True}),
    ("zoo_wide_resnet_opset13", wide_resnet, (2, 3, 32, 32), 13, True),
    ("zoo_inception_v3_opset11", inception_v3, (1, 3, 75, 75), 11, True),  # one item: the 75×75 input is most of the size
    ("zoo_googlenet_opset13", googlenet, (1, 3, 64, 64), 13, True),  # one item, as Inception v3's
]

# own seeds from 620. Their adaptive pooling exports only where its output divides its input: 224×224 images (6×6 and 7×7
# after the features), made by the tests from a formula (gen_onnx.pattern_input) instead of a 602 KB file per item
FULL_SIZE_CASES = [
    ("zoo_alexnet_narrow_opset13", alexnet, (2, 3, 224, 224), 13, True, True),
    ("zoo_vgg11_narrow_opset17", vgg11, (2, 3, 224, 224), 17, True, True),
]


# own seeds from 700: the families at further opsets, so that every opset from 11 to 17 is exported by several families and
# each family at two opsets or more (the list in OnnxFixtureTests.OpsetCoverage). The families whose files at their first
# opset are largest (SqueezeNet, MobileNetV2 and V3, EfficientNet, MNASNet) come again narrowed, on 32×32 images. Their
# inputs are gen_onnx.pattern_input (OnnxRun.PatternInput in the tests), so no .input.npy is kept
OPSET_CASES = [
    ("zoo_squeezenet_narrow_opset15", squeezenet_narrow, (2, 3, 32, 32), 15, True, True),
    ("zoo_mobilenet_v2_narrow_opset16", mobilenet_v2_narrow, (2, 3, 32, 32), 16, True, True),
    ("zoo_mobilenet_v3_small_narrow_opset15", mobilenet_v3_small_narrow, (2, 3, 32, 32), 15, False, True),
    ("zoo_efficientnet_b0_narrow_opset16", efficientnet_narrow, (2, 3, 32, 32), 16, True, True),
    ("zoo_mnasnet_narrow_opset12", mnasnet_narrow, (2, 3, 32, 32), 12, True, True),
    *gen_onnx.at_opsets("zoo_densenet_g8", gen_onnx.densenet, (2, 3, 32, 32), {16: True}, pattern=True),
    *gen_onnx.at_opsets("zoo_resnet_googlenet_blocks", gen_onnx.TorchvisionBlocks, (2, 3, 32, 32), {15: False}, pattern=True),
    *gen_onnx.at_opsets("zoo_convnext_tiny", convnext, (2, 3, 32, 32), {17: True, 15: True}, pattern=True),
    *gen_onnx.at_opsets("zoo_regnet_x_g8", regnet, (2, 3, 32, 32), {12: True, 16: False}, pattern=True),
    *gen_onnx.at_opsets("zoo_efficientnet_v2_tiny", efficientnet_v2, (2, 3, 32, 32), {14: True}, pattern=True),
    *gen_onnx.at_opsets("zoo_wide_resnet", wide_resnet, (2, 3, 32, 32), {16: True}, pattern=True),
]

# own seeds from 740: GoogLeNet and Inception v3 at half their first opset's widths (one item each, pattern inputs)
NARROWER_OPSET_CASES = [
    ("zoo_googlenet_narrow_opset16", lambda: googlenet(divisor=16), (1, 3, 64, 64), 16, True, True),
    ("zoo_inception_v3_narrow_opset17", lambda: inception_v3(divisor=32), (1, 3, 75, 75), 17, True, True),
]

# own seeds from 760: a whole ResNet-18 at 1/16 width (BasicBlock), on 32×32 pattern inputs
RESNET_CASES = [
    *gen_onnx.at_opsets("zoo_resnet18_narrow", resnet18, (2, 3, 32, 32), {11: True, 15: True}, pattern=True),
]

# own seeds from 720, on 224×224 pattern inputs, as FULL_SIZE_CASES
FULL_SIZE_OPSET_CASES = [
    ("zoo_alexnet_narrow_opset11", alexnet, (2, 3, 224, 224), 11, True, True),
    ("zoo_vgg11_narrow_opset14", vgg11, (2, 3, 224, 224), 14, True, True),
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
    gen_onnx.main(CNN_CASES, 600)
    gen_onnx.main(FULL_SIZE_CASES, 620)
    gen_onnx.main(OPSET_CASES, 700)
    gen_onnx.main(FULL_SIZE_OPSET_CASES, 720)
    gen_onnx.main(NARROWER_OPSET_CASES, 740)
    gen_onnx.main(RESNET_CASES, 760)
    if "zoo_shufflenet_v2_opset17" in exported:
        write_gradient("zoo_shufflenet_v2_opset17", *exported["zoo_shufflenet_v2_opset17"])
