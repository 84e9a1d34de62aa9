"""Golden files of batch normalization (Runtime/Layers/BatchNorm.cs): PyTorch's BatchNorm1d/BatchNorm2d, one
training step then one eval pass on the same module. Tests: Tests/NeuroPlugin.Tests/Toolkit/BatchNorm*.cs.

Each file holds the inputs: x, weight, bias, the running statistics before the step (running_mean_before,
running_var_before) and the output gradient dy; the training pass: y, dx, dweight, dbias and the updated
running_mean, running_var; the eval pass (with those updated statistics): eval_y, eval_dx, eval_dweight,
eval_dbias. Gradients are of L = sum(y * dy). Attributes: eps, momentum.
Dropout has no golden file: PyTorch's generator cannot be reproduced; Dropout*.cs tests it statistically.
"""
import torch

import golden


def _case(name, module, shape, seed, offset=0.0):
    g = golden.seeded(seed)
    channels = shape[1]
    x = torch.randn(*shape, generator=g) * 2.0 + offset
    weight = torch.rand(channels, generator=g) + 0.5
    bias = torch.randn(channels, generator=g)
    running_mean = torch.randn(channels, generator=g)
    running_var = torch.rand(channels, generator=g) + 0.5
    dy = torch.randn(*shape, generator=g)
    with torch.no_grad():
        module.weight.copy_(weight)
        module.bias.copy_(bias)
        module.running_mean.copy_(running_mean)
        module.running_var.copy_(running_var)

    tensors = {"x": x, "weight": weight, "bias": bias, "running_mean_before": running_mean,
               "running_var_before": running_var, "dy": dy}
    for prefix, training in (("", True), ("eval_", False)):
        module.train(training)
        module.zero_grad()
        xg = x.clone().requires_grad_(True)
        y = module(xg)
        (y * dy).sum().backward()
        tensors[prefix + "y"] = y
        tensors[prefix + "dx"] = xg.grad
        tensors[prefix + "dweight"] = module.weight.grad.clone()  # zero_grad() zeroes in place
        tensors[prefix + "dbias"] = module.bias.grad.clone()
        if training:
            tensors["running_mean"] = module.running_mean.clone()
            tensors["running_var"] = module.running_var.clone()
    golden.write(name, tensors, {"eps": module.eps, "momentum": module.momentum})


def generate():
    _case("batchnorm1d_n6_c5", torch.nn.BatchNorm1d(5), (6, 5), 11)
    _case("batchnorm1d_n3_c4_eps_momentum", torch.nn.BatchNorm1d(4, eps=1e-3, momentum=0.3), (3, 4), 12, offset=3.0)
    _case("batchnorm2d_n2_c3_h2_w3", torch.nn.BatchNorm2d(3), (2, 3, 2, 3), 13)
    _case("batchnorm2d_n1_c5_h3_w2", torch.nn.BatchNorm2d(5), (1, 5, 3, 2), 14, offset=-2.0)
    _case("batchnorm2d_n3_c2_h2_w2_eps_momentum", torch.nn.BatchNorm2d(2, eps=1e-2, momentum=0.05), (3, 2, 2, 2), 15)


if __name__ == "__main__":
    torch.set_num_threads(1)
    generate()
