"""Golden files for the activation family: every element-wise activation (at PyTorch's kinks too),
softmax over axis 1, local response normalization (odd and even sizes, 4-D and 2-D), and global
average/max pooling. Each file holds the input x, the output y, a random output gradient dy, and the
input gradient dx = ∂(Σ dy·y)/∂x that PyTorch's autograd computes."""
import torch
import torch.nn as nn
import torch.nn.functional as F
import golden

# The kinks of every piecewise activation, where the derivative takes one side by convention.
KINKS = [0.0, -3.0, 3.0, 6.0, -6.0, 1e-7, -1e-7, 5.9]

ACTIVATIONS = {
    "ReLU": (lambda x: F.relu(x), {}),
    "Sigmoid": (torch.sigmoid, {}),
    "Tanh": (torch.tanh, {}),
    "LeakyReLU": (lambda x: F.leaky_relu(x), {"negativeSlope": 0.01}),
    "LeakyReLU_0.2": (lambda x: F.leaky_relu(x, 0.2), {"negativeSlope": 0.2}),
    "ReLU6": (F.relu6, {}),
    "SiLU": (F.silu, {}),
    "HardSigmoid": (F.hardsigmoid, {}),
    "HardSwish": (F.hardswish, {}),
}


def run(name, module_or_fn, x, g, attributes):
    """Writes x, y = f(x), dy and dx for one op."""
    x = x.detach().clone().requires_grad_(True)
    y = module_or_fn(x)
    dy = torch.randn(y.shape, generator=g)
    y.backward(dy)
    golden.write(name, {"x": x, "y": y, "dy": dy, "dx": x.grad}, attributes)


def generate():
    g = golden.seeded(23)
    for name, (fn, attributes) in ACTIVATIONS.items():
        x = torch.randn(2, 3, 8, generator=g) * 4
        x.view(-1)[: len(KINKS)] = torch.tensor(KINKS)
        run(f"activation_{name}", fn, x, g, {"kind": name.split("_")[0], **attributes})

    # softmax over axis 1; the last row's huge logits would overflow a naive e^x
    x = torch.randn(5, 7, generator=g) * 3
    x[4] = torch.tensor([1000.0, 999.0, -1000.0, 998.5, 0.0, 1000.0, -5.0])
    run("softmax", lambda v: F.softmax(v, dim=1), x, g, {})

    # local response normalization: odd and even windows (PyTorch pads ⌊size/2⌋ before, ⌊(size−1)/2⌋ after),
    # α large enough that the cross-channel term of the gradient is not negligible; then PyTorch's defaults
    for name, shape, size, alpha, beta, k, scale in [
        ("lrn_size5", (2, 7, 3, 4), 5, 0.5, 0.75, 2.0, 1.5),
        ("lrn_size4", (2, 6, 3, 3), 4, 0.3, 0.6, 1.5, 1.5),
        ("lrn_size3_defaults_rank2", (4, 6), 3, 1e-4, 0.75, 1.0, 30.0),
    ]:
        x = torch.randn(*shape, generator=g) * scale
        lrn = nn.LocalResponseNorm(size, alpha=alpha, beta=beta, k=k)
        # PyTorch wants 3-D or more: (N,C) runs as (N,C,1), the same numbers
        fn = lrn if len(shape) > 2 else (lambda v, lrn=lrn: lrn(v.unsqueeze(-1)).squeeze(-1))
        run(name, fn, x, g, {"size": size, "alpha": alpha, "beta": beta, "k": k})

    x = torch.randn(2, 3, 5, 4, generator=g)
    run("global_avg_pool", lambda v: F.adaptive_avg_pool2d(v, 1), x, g, {})
    run("global_max_pool", lambda v: F.adaptive_max_pool2d(v, 1), x, g, {})

    generate_gelu_prelu()


def generate_gelu_prelu():
    """GELU, exact and tanh (into both tails, where erf and tanh saturate), and PReLU with one slope and with one per
    channel, on (N,C,H,W) and (N,C): x, the slope w, y, dy, dx and dw (x includes 0, where the slope's side is taken)."""
    g = golden.seeded(31)
    for name, approximate in [("GELU", "none"), ("GELUTanh", "tanh")]:
        x = torch.randn(2, 3, 8, generator=g) * 4
        x.view(-1)[:4] = torch.tensor([0.0, -9.0, 9.0, -1e-7])
        run(f"activation_{name}", lambda v, a=approximate: F.gelu(v, approximate=a), x, g, {"kind": name})
    for name, shape, slopes in [("prelu_shared", (2, 3, 4, 5), 1), ("prelu_channels", (2, 3, 4, 5), 3), ("prelu_channels_rank2", (5, 6), 6)]:
        x = torch.randn(*shape, generator=g)
        x.view(-1)[:2] = 0.0
        prelu = nn.PReLU(slopes)
        with torch.no_grad():
            prelu.weight.copy_(torch.randn(slopes, generator=g) * 0.5)
        x.requires_grad_(True)
        y = prelu(x)
        dy = torch.randn(y.shape, generator=g)
        y.backward(dy)
        golden.write(name, {"x": x, "w": prelu.weight, "y": y, "dy": dy, "dx": x.grad, "dw": prelu.weight.grad}, {"numParameters": slopes})


if __name__ == "__main__":
    generate()
