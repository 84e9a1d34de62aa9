"""ONNX fixtures of torchvision's attention families, built from torchvision's own classes at reduced width, depth and
image size (random weights, 10 classes) so each file stays a few hundred KB at most; written through gen_onnx.export
(<name>.onnx, .input.npy, .output.npy in Tests/NeuroPlugin.Tests/Onnx/Fixtures), seeds from 500 (gen_onnx.py uses 0–12,
gen_onnx_ops.py 300–, gen_onnx_norms.py and gen_torchvision.py 400–)."""
import os

import gen_onnx
from gen_torchvision import he_initialized


def fan_in_initialized(model):
    """model with its convolutions started from He's normal (gen_torchvision.he_initialized) and its Linear layers from
    a normal of variance 1/fan-in. From the families' own start (normal of std 0.02) the two items of a fixture differ by
    1e-5 of their logits, and the fixture would test little beyond the biases."""
    import torch.nn as nn
    for m in he_initialized(model).modules():
        if isinstance(m, nn.Linear):
            nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="linear")
    return model


def vit():
    """vit_b_16's VisionTransformer at a 32×32 image, patch 8 (16 patches and the class token), 2 layers of 2 heads,
    width 32 and MLP 64 instead of 12 layers of 12 heads, width 768 and MLP 3072: the class token is expanded to the batch
    (Expand, whose shape the exporter computes with Equal/Where), nn.MultiheadAttention (batch_first; the exporter
    writes it on (L,N·heads,d) views) and LayerNorm."""
    from torchvision.models.vision_transformer import VisionTransformer
    return fan_in_initialized(VisionTransformer(image_size=32, patch_size=8, num_layers=2, num_heads=2, hidden_dim=32, mlp_dim=64, num_classes=10))


def swin():
    """swin_t's SwinTransformer with embedding width 16 (96), depths [2, 1] ([2, 2, 6, 2]), heads [2, 4] ([3, 6, 12, 24])
    and 4×4 windows (7×7) on a 32×32 image: patch embedding, windows and shifted windows (roll, the attention mask the
    exporter computes with ScatterND), relative position bias, patch merging, one window per image in the second stage
    (whose blocks the class never shifts there: a second one would only add to the file)."""
    from torchvision.models.swin_transformer import SwinTransformer
    return fan_in_initialized(SwinTransformer(patch_size=[4, 4], embed_dim=16, depths=[2, 1], num_heads=[2, 4], window_size=[4, 4],
                                              stochastic_depth_prob=0.0, num_classes=10))


def maxvit():
    """maxvit_t's MaxVit with stem 8 channels (64), blocks [8, 16] ([64, 128, 256, 512]) of one layer each ([2, 2, 5, 2]),
    head dimension 4 (32) and partition 4 (7) on a 32×32 image: MBConv with squeeze-excitation, block and grid attention
    on window partitions (5- and 6-axis views), relative position bias."""
    from torchvision.models.maxvit import MaxVit
    return fan_in_initialized(MaxVit(input_size=(32, 32), stem_channels=8, partition_size=4, block_channels=[8, 16], block_layers=[1, 1],
                                     head_dim=4, stochastic_depth_prob=0.0, num_classes=10))


CASES = [
    # Einsum needs opset 12
    ("zoo_maxvit_tiny_opset12", maxvit, (2, 3, 32, 32), 12, True),
    ("zoo_maxvit_tiny_opset17", maxvit, (2, 3, 32, 32), 17, True),
]

# own seeds from 510. ViT: nn.MultiheadAttention transposes (N,L,E) to (L,N,E) and works on (L,N·heads,d) and
# (N·heads,L,d) views, whose sizes the exporter computes as N·heads and L·N; the class token is expanded to the batch
# (Expand, a BatchExpand layer) and concatenated with the patches. Three items, so the batch axis is not mistaken for
# another.
VIT_CASES = [
    ("zoo_vit_tiny_opset14", vit, (3, 3, 32, 32), 14, True),  # layer norms spelled out (ReduceMean, Sub, Pow, …)
    ("zoo_vit_tiny_opset17", vit, (3, 3, 32, 32), 17, True),
]

# own seeds from 520. Swin: windows as (nW·N,L,C) views, its attention's (3,nW·N,heads,L,d) view with q, k and v picked by
# Gather, the attention mask of the shifted windows folded from ScatterND
SWIN_CASES = [
    ("zoo_swin_tiny_opset17", swin, (3, 3, 32, 32), 17, True),
]

# own seeds from 530: Swin at opset 16, its layer norms spelled out (ReduceMean, Sub, Pow, …) on the (N,H,W,C) tensors
OPSET_CASES = [
    ("zoo_swin_tiny_opset16", swin, (3, 3, 32, 32), 16, True, True),  # on gen_onnx.pattern_input
]


def write_gradients(name, module, x, parameters):
    """<name>.<key>_grad.npy for each key of parameters (a function of the module giving the parameter): PyTorch's gradient
    of the mean cross-entropy (label of item i: i mod 10) with respect to it; <name>.loss.npy, that loss. ViT's class token
    is expanded over the batch, so its gradient sums the items'; the patch embeddings' come back through every block."""
    import torch
    import torch.nn.functional as F
    module.eval()
    module.zero_grad()
    labels = torch.arange(x.shape[0]) % 10
    loss = F.cross_entropy(module(x), labels)
    loss.backward()
    for key, parameter in parameters.items():
        gen_onnx.save_npy(os.path.join(gen_onnx.OUT, f"{name}.{key}_grad.npy"), parameter(module).grad)
    gen_onnx.save_npy(os.path.join(gen_onnx.OUT, name + ".loss.npy"), loss.reshape(1))


if __name__ == "__main__":
    gen_onnx.main(CASES, 500)
    exported = gen_onnx.main(SWIN_CASES, 520)
    if "zoo_swin_tiny_opset17" in exported:
        write_gradients("zoo_swin_tiny_opset17", *exported["zoo_swin_tiny_opset17"], {"patch_embedding": lambda m: m.features[0][0].weight})
    gen_onnx.main(OPSET_CASES, 530)
    exported = gen_onnx.main(VIT_CASES, 510)
    if "zoo_vit_tiny_opset17" in exported:
        write_gradients("zoo_vit_tiny_opset17", *exported["zoo_vit_tiny_opset17"],
                        {"class_token": lambda m: m.class_token, "conv_proj": lambda m: m.conv_proj.weight})
