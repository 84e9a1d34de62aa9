"""Golden files for the merge layers: residual Add, Concat along channels, channel-wise multiply (SE scale)."""
import torch
import golden


def generate():
    g = golden.seeded(11)
    a = torch.randn(3, 2, 4, 5, generator=g, requires_grad=True)
    b = torch.randn(3, 2, 4, 5, generator=g, requires_grad=True)
    c = torch.randn(3, 3, 4, 5, generator=g, requires_grad=True)
    s = torch.randn(3, 2, generator=g, requires_grad=True)

    y = a + b
    dy = torch.randn(y.shape, generator=g)
    y.backward(dy)
    golden.write("merge_add", {"a": a, "b": b, "y": y, "dy": dy, "da": a.grad, "db": b.grad})

    a.grad = None
    y = torch.cat([a, c], dim=1)
    dy = torch.randn(y.shape, generator=g)
    y.backward(dy)
    golden.write("merge_concat", {"a": a, "c": c, "y": y, "dy": dy, "da": a.grad, "dc": c.grad})

    a.grad = None
    y = a * s[:, :, None, None]
    dy = torch.randn(y.shape, generator=g)
    y.backward(dy)
    golden.write("merge_channel_multiply", {"x": a, "s": s, "y": y, "dy": dy, "dx": a.grad, "ds": s.grad})
