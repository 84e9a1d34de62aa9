"""Golden files for element-wise arithmetic: the broadcasting ops (Elementwise: add, sub, mul, div, pow, minimum,
maximum), y = a ∘ b with a (2,3,4,5) and b (3,1,5) broadcast against it and both gradients for a random dy; and the
math functions (ElementwiseFunction: Neg, Abs, Reciprocal, Sqrt, Exp, Log, Erf) with x, y, dy, dx."""
import torch
import golden

OPS = {
    "add": torch.add,
    "sub": torch.sub,
    "mul": torch.mul,
    "div": torch.div,
    "pow": torch.pow,
    "minimum": torch.minimum,
    "maximum": torch.maximum,
}


def generate():
    generate_binary()
    generate_functions()


def generate_binary():
    g = golden.seeded(23)
    for name, op in OPS.items():
        a = torch.randn(2, 3, 4, 5, generator=g)
        b = torch.randn(3, 1, 5, generator=g)
        if name == "pow":
            a = torch.rand(2, 3, 4, 5, generator=g) + 0.25   # a positive base, so every exponent is defined
        if name == "div":
            b = torch.sign(b) * (b.abs() + 0.5)               # away from 0
        if name in ("minimum", "maximum"):
            a = torch.round(a * 2) / 2                        # on a half-integer grid: ties, which split the gradient
            b = torch.round(b * 2) / 2
        a.requires_grad_(True)
        b.requires_grad_(True)
        y = op(a, b)
        dy = torch.randn(y.shape, generator=g)
        y.backward(dy)
        golden.write(f"elementwise_{name}", {"a": a, "b": b, "y": y, "dy": dy, "da": a.grad, "db": b.grad}, {"op": name})


FUNCTIONS = {
    "Neg": (torch.neg, lambda x: x),
    "Abs": (torch.abs, lambda x: torch.sign(x) * (x.abs() + 0.05)),    # away from the kink at 0
    "Reciprocal": (torch.reciprocal, lambda x: torch.sign(x) * (x.abs() + 0.3)),
    "Sqrt": (torch.sqrt, lambda x: x.abs() + 0.1),
    "Exp": (torch.exp, lambda x: x),
    "Log": (torch.log, lambda x: x.abs() + 0.1),
    "Erf": (torch.erf, lambda x: x * 2),                                # into the tails
}


def generate_functions():
    g = golden.seeded(29)
    for name, (fn, domain) in FUNCTIONS.items():
        x = domain(torch.randn(2, 3, 7, generator=g)).requires_grad_(True)
        y = fn(x)
        dy = torch.randn(y.shape, generator=g)
        y.backward(dy)
        golden.write(f"function_{name}", {"x": x, "y": y, "dy": dy, "dx": x.grad}, {"op": name})
