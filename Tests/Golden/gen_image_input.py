"""Golden files for textures in (ImageInputTransform, TextureInput): an RGBA8 image, resized by PyTorch's
F.interpolate (bilinear with align_corners=False, or area), channels reordered or reduced to BT.601 luma, then
normalized as (scale*v - mean[c]) / std[c]. Pixels are stored as the bytes' values, rows as the attribute 'rows' says."""
import torch
import torch.nn.functional as F
import golden

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]


def transform(pixels_top_down, size, mode, channels, scale, mean, std):
    x = pixels_top_down.float() / 255  # (H, W, 4)
    rgb = x[:, :, :3].permute(2, 0, 1).unsqueeze(0)  # (1, 3, H, W)
    if mode == "bilinear":
        v = F.interpolate(rgb, size=size, mode="bilinear", align_corners=False)
    else:
        v = F.interpolate(rgb, size=size, mode="area")
    v = v[0]
    if channels == "rgb":
        c = v
    elif channels == "bgr":
        c = v.flip(0)
    else:
        c = (0.299 * v[0] + 0.587 * v[1] + 0.114 * v[2]).unsqueeze(0)
    m = torch.tensor(mean, dtype=torch.float32).view(-1, 1, 1)
    s = torch.tensor(std, dtype=torch.float32).view(-1, 1, 1)
    return (scale * c - m) / s


def case(name, g, height, width, size, mode, channels, rows, scale=1.0, mean=None, std=None):
    count = 1 if channels == "grayscale" else 3
    mean = mean or [0.0] * count
    std = std or [1.0] * count
    pixels = torch.randint(0, 256, (height, width, 4), generator=g, dtype=torch.uint8)
    y = transform(pixels, size, mode, channels, scale, mean, std)
    stored = pixels.flip(0) if rows == "bottom_up" else pixels
    golden.write(name, {"pixels": stored.float(), "y": y},
                 {"mode": mode, "channels": channels, "rows": rows, "scale": scale, "mean": mean, "std": std,
                  "height": height, "width": width, "output_height": size[0], "output_width": size[1]})


def generate():
    g = golden.seeded(23)
    case("image_input_bilinear_up_rgb", g, 5, 7, (8, 11), "bilinear", "rgb", "top_down", mean=IMAGENET_MEAN, std=IMAGENET_STD)
    case("image_input_bilinear_down_bgr", g, 9, 13, (4, 6), "bilinear", "bgr", "bottom_up", scale=255.0, mean=[100.0, 110.0, 120.0], std=[50.0, 60.0, 70.0])
    case("image_input_area_down_gray", g, 9, 13, (4, 5), "area", "grayscale", "bottom_up", mean=[0.5], std=[0.25])
    case("image_input_area_up_rgb", g, 3, 4, (7, 9), "area", "rgb", "top_down")
