"""Golden files for the reductions over any axes and softmax over any axis, each with x, y = f(x), a random dy and dx
(PyTorch's autograd). The attributes are the layer's own (type and attributes as our model files write them), so a test
builds the layer from them: x.sum/mean/amax/amin over dims with keepdim or not (amax/amin on small integers, so ties
share the gradient as PyTorch's amax does), softmax and log_softmax over each axis of ranks 2 to 4."""
import torch
import golden

REDUCE = {"ReduceSum": torch.sum, "ReduceMean": torch.mean, "ReduceMax": torch.amax, "ReduceMin": torch.amin}


def backward(name, x, y, g, attributes):
    dy = torch.randn(y.shape, generator=g)
    y.backward(dy)
    golden.write(name, {"x": x, "y": y, "dy": dy, "dx": x.grad}, attributes)


def generate():
    g = golden.seeded(47)
    for name, op, shape, dims, keep, ties in [
        ("reduce_sum_dims_1_3", "ReduceSum", (2, 3, 4, 5), [1, 3], True, False),
        ("reduce_mean_dim_3_dropped", "ReduceMean", (2, 3, 4, 5), [3], False, False),
        ("reduce_mean_dims_1_2_rank3", "ReduceMean", (3, 4, 6), [1, 2], True, False),
        ("reduce_max_dim_2_ties", "ReduceMax", (2, 3, 6), [2], True, True),
        ("reduce_max_dims_1_2_3_dropped", "ReduceMax", (2, 3, 2, 4), [1, 2, 3], False, False),
        ("reduce_min_dims_1_ties", "ReduceMin", (3, 5, 2), [1], False, True),
    ]:
        if ties:
            x = torch.randint(0, 3, shape, generator=g).float().requires_grad_(True)
        else:
            x = torch.randn(*shape, generator=g).requires_grad_(True)
        y = REDUCE[op](x, dim=tuple(dims), keepdim=keep)
        backward(name, x, y, g, {"type": op, "dims": dims, "keepDims": keep})

    for name, log, shape, dim in [
        ("softmax_dim1_rank2", False, (3, 7), 1),
        ("softmax_dim1_rank4", False, (2, 3, 4, 5), 1),
        ("softmax_dim2_rank3", False, (2, 3, 5), 2),
        ("log_softmax_dim3_rank4", True, (2, 3, 4, 5), 3),
        ("log_softmax_dim1_rank3", True, (2, 6, 3), 1),
    ]:
        x = (3 * torch.randn(*shape, generator=g)).requires_grad_(True)
        y = torch.log_softmax(x, dim) if log else torch.softmax(x, dim)
        backward(name, x, y, g, {"type": "LogSoftmax" if log else "Softmax", "dim": dim})


if __name__ == "__main__":
    generate()
