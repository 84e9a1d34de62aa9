"""Golden files for torch.matmul with broadcast batch axes: two tensors (a, b → da, db) and a tensor by a learnable
constant on either side (x, weight → dx, dweight), each with y = a·b, a random dy and PyTorch's gradients. The
attributes are the layer's own (type and attributes as our model files write them)."""
import torch
import golden


def generate():
    g = golden.seeded(53)
    for name, a_shape, b_shape in [
        ("matmul_batched_rank3", (2, 3, 4), (2, 4, 5)),
        ("matmul_broadcast_rank4", (2, 3, 4, 5), (2, 1, 5, 2)),
    ]:
        a = torch.randn(*a_shape, generator=g).requires_grad_(True)
        b = torch.randn(*b_shape, generator=g).requires_grad_(True)
        y = torch.matmul(a, b)
        dy = torch.randn(y.shape, generator=g)
        y.backward(dy)
        golden.write(name, {"a": a, "b": b, "y": y, "dy": dy, "da": a.grad, "db": b.grad}, {"type": "MatMul"})

    for name, x_shape, w_shape, first in [
        ("matmul_constant_right_rank2", (3, 4), (4, 2), False),
        ("matmul_constant_right_rank3", (2, 3, 4), (4, 5), False),
        ("matmul_constant_left_rank4", (2, 3, 4, 5), (3, 2, 4), True),
    ]:
        x = torch.randn(*x_shape, generator=g).requires_grad_(True)
        w = torch.randn(*w_shape, generator=g).requires_grad_(True)
        y = torch.matmul(w, x) if first else torch.matmul(x, w)
        dy = torch.randn(y.shape, generator=g)
        y.backward(dy)
        golden.write(name, {"x": x, "weight": w, "y": y, "dy": dy, "dx": x.grad, "dweight": w.grad},
                     {"type": "MatMulConstant", "constantShape": list(w_shape), "constantFirst": first})


if __name__ == "__main__":
    generate()
