"""Golden files of the row normalizations (Runtime/Layers/RowNorm.cs): PyTorch's LayerNorm, GroupNorm and InstanceNorm2d
(its defaults: no running statistics), forward and backward. Tests: Tests/NeuroPlugin.Tests/Toolkit/RowNormGoldenTests.cs.

Each file holds x, a random output gradient dy, y, dx and, for an affine layer, weight, bias, dweight and dbias (gradients
of L = sum(y * dy)). Attributes: the layer type, its sizes, eps and whether it is affine.
"""
import torch

import golden


def _case(name, module, shape, seed, attributes, offset=0.0):
    g = golden.seeded(seed)
    x = (torch.randn(*shape, generator=g) * 1.5 + offset).requires_grad_(True)
    affine = getattr(module, "weight", None) is not None
    tensors = {}
    if affine:
        with torch.no_grad():
            module.weight.copy_(torch.rand(module.weight.shape, generator=g) + 0.5)
            module.bias.copy_(torch.randn(module.bias.shape, generator=g))
        tensors["weight"] = module.weight.detach().clone()
        tensors["bias"] = module.bias.detach().clone()
    dy = torch.randn(*shape, generator=g)
    y = module(x)
    (y * dy).sum().backward()
    tensors.update({"x": x, "dy": dy, "y": y, "dx": x.grad})
    if affine:
        tensors["dweight"] = module.weight.grad
        tensors["dbias"] = module.bias.grad
    golden.write(name, tensors, dict(attributes, eps=module.eps, affine=affine))


def generate():
    _case("layernorm_last_axis", torch.nn.LayerNorm(6), (3, 4, 6), 41, {"type": "LayerNorm", "normalizedShape": [6]})
    _case("layernorm_features", torch.nn.LayerNorm(10, eps=1e-3), (4, 10), 42, {"type": "LayerNorm", "normalizedShape": [10]}, offset=2.0)
    _case("layernorm_chw", torch.nn.LayerNorm([3, 4, 5]), (2, 3, 4, 5), 43, {"type": "LayerNorm", "normalizedShape": [3, 4, 5]})
    _case("layernorm_no_affine", torch.nn.LayerNorm([4, 5], elementwise_affine=False), (2, 3, 4, 5), 44,
          {"type": "LayerNorm", "normalizedShape": [4, 5]})
    _case("groupnorm_g2_c6", torch.nn.GroupNorm(2, 6), (3, 6, 4, 5), 45, {"type": "GroupNorm", "numGroups": 2, "numChannels": 6})
    _case("groupnorm_g3_c3_rank3", torch.nn.GroupNorm(3, 3, eps=1e-2), (2, 3, 7), 46, {"type": "GroupNorm", "numGroups": 3, "numChannels": 3}, offset=-1.0)
    _case("groupnorm_g1_no_affine", torch.nn.GroupNorm(1, 4, affine=False), (2, 4, 3, 3), 47, {"type": "GroupNorm", "numGroups": 1, "numChannels": 4})
    _case("instancenorm2d", torch.nn.InstanceNorm2d(3), (2, 3, 5, 4), 48, {"type": "InstanceNorm2d", "numFeatures": 3})
    _case("instancenorm2d_affine", torch.nn.InstanceNorm2d(4, affine=True), (3, 4, 3, 6), 49, {"type": "InstanceNorm2d", "numFeatures": 4})


if __name__ == "__main__":
    torch.set_num_threads(1)
    generate()
