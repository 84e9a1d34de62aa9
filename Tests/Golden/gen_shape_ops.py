"""Golden files for the shape ops that move data, each with x, y = f(x), a random dy and dx (PyTorch's autograd):
Permute (x.permute), Slice (Python's start:end:step on three axes, negative indices and a negative step, taken with
index_select because PyTorch tensors do not slice backwards), IndexSelect (repeated indices, and indices stepping
evenly backwards) and Concat along axis 2 (inputs x0, x1; gradients dx0, dx1)."""
import torch
import golden


def backward(name, inputs, y, g, attributes):
    dy = torch.randn(y.shape, generator=g)
    y.backward(dy)
    tensors = {"y": y, "dy": dy}
    for key, x in inputs.items():
        tensors[key] = x
        tensors["d" + key] = x.grad
    golden.write(name, tensors, attributes)


def python_slice(x, dim, start, end, step):
    """x[..., start:end:step, ...] on axis dim with Python's (and ONNX's) clamping, any step."""
    index = list(range(x.shape[dim]))[start:end:step]
    return torch.index_select(x, dim, torch.tensor(index, dtype=torch.long))


def generate():
    g = golden.seeded(31)
    for name, shape, dims in [("shape_permute", (2, 3, 4, 5), (0, 2, 3, 1)), ("shape_permute_rank3", (2, 3, 4), (0, 2, 1))]:
        x = torch.randn(*shape, generator=g).requires_grad_(True)
        backward(name, {"x": x}, x.permute(*dims), g, {"dims": list(dims)})

    x = torch.randn(2, 5, 6, 7, generator=g).requires_grad_(True)
    slices = [(3, -1, -100, -2), (1, 1, 100, 2), (2, 0, 5, 3)]
    y = x
    for dim, start, end, step in slices:
        y = python_slice(y, dim, start, end, step)
    backward("shape_slice", {"x": x}, y, g, {"dims": [s[0] for s in slices], "starts": [s[1] for s in slices],
                                              "ends": [s[2] for s in slices], "steps": [s[3] for s in slices]})

    for name, shape, dim, index in [("shape_index_select_repeated", (2, 4, 3, 5), 1, [3, 0, 3, 1]),
                                    ("shape_index_select_even", (2, 4, 3, 5), 3, [4, 2, 0])]:
        x = torch.randn(*shape, generator=g).requires_grad_(True)
        y = torch.index_select(x, dim, torch.tensor(index, dtype=torch.long))
        backward(name, {"x": x}, y, g, {"dim": dim, "index": index})

    for name, a, b in [("shape_concat_dim2", (2, 3, 2, 5), (2, 3, 4, 5)), ("shape_concat_rank3", (2, 3, 4), (2, 3, 1))]:
        x0 = torch.randn(*a, generator=g).requires_grad_(True)
        x1 = torch.randn(*b, generator=g).requires_grad_(True)
        backward(name, {"x0": x0, "x1": x1}, torch.cat([x0, x1], dim=2), g, {"dim": 2})


if __name__ == "__main__":
    generate()
