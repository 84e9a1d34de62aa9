"""Golden files for bilinear resizing: F.interpolate(mode='bilinear', align_corners=False) forward and input gradient,
for fixed sizes (enlarging, shrinking, mixed, and Fashion-MNIST's 28 → 63 of `neuro train --image-size`) and for
scale factors (where PyTorch maps coordinates with 1/scale_factor, not with the rounded size ratio)."""
import torch
import torch.nn.functional as F
import golden


def case(name, g, shape, size=None, scale_factor=None):
    x = torch.randn(shape, generator=g, requires_grad=True)
    y = F.interpolate(x, size=size, scale_factor=scale_factor, mode="bilinear", align_corners=False)
    dy = torch.randn(y.shape, generator=g)
    y.backward(dy)
    attributes = {"mode": "bilinear"}
    if size is not None:
        attributes["size"] = list(size)
    else:
        attributes["scaleFactor"] = list(scale_factor)
    golden.write(name, {"x": x, "y": y, "dy": dy, "dx": x.grad}, attributes)


def generate():
    g = golden.seeded(53)
    case("upsample_bilinear_4x5_to_9x7", g, (2, 3, 4, 5), size=(9, 7))       # enlarge by uneven ratios
    case("upsample_bilinear_7x6_to_3x4", g, (1, 2, 7, 6), size=(3, 4))       # shrink
    case("upsample_bilinear_5x3_to_2x8", g, (2, 1, 5, 3), size=(2, 8))       # shrink rows, enlarge columns
    case("upsample_bilinear_1x1_to_3x2", g, (1, 2, 1, 1), size=(3, 2))       # a single pixel repeated
    case("upsample_bilinear_28_to_63", g, (1, 1, 28, 28), size=(63, 63))     # neuro train --image-size 63
    case("upsample_bilinear_scale_2.5x1.5", g, (1, 2, 3, 5), scale_factor=(2.5, 1.5))  # 7×7: ratios 0.4, 0.667
    case("upsample_bilinear_scale_0.6x2", g, (2, 1, 6, 4), scale_factor=(0.6, 2.0))    # 3×8 (6·0.6 = 3.6 → 3)


if __name__ == "__main__":
    generate()
