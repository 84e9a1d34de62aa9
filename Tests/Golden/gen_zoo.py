"""Expected structure of the zoo models that torchvision also has, taken from torchvision itself (never typed by hand):
for each model at its ImageNet configuration (3×224×224, 3×299×299 for inception_v3, 1000 classes, torchvision's default
constructor, so GoogLeNet and Inception v3 include their auxiliary heads) the parameter count
(sum(p.numel() for p in parameters()), batch-norm running statistics excluded), the number of parameter tensors, and
the logits shape of one image, and "structure": the SHA-256 (hex) of the sorted lines "name shape" of the state
dict's parameters (e.g. "layer1.0.conv1.weight 64,64,3,3"), joined by "\n", so a test can check that the zoo names
and shapes every parameter exactly as torchvision does without storing the whole list. Written to Golden/zoo_torchvision.json as {"models": {name: {...}}}."""
import hashlib, json, os, warnings

import torch
import torchvision
import torchvision.models as models

import golden

# zoo name → torchvision constructor (weights=None: architecture only)
MODELS = {
    "alexnet": (models.alexnet, 224),
    "vgg11": (models.vgg11, 224),
    "vgg16": (models.vgg16, 224),
    "googlenet": (lambda: models.googlenet(aux_logits=True, init_weights=False), 224),
    "inception_v3": (lambda: models.inception_v3(aux_logits=True, init_weights=False), 299),
    "resnet18": (models.resnet18, 224),
    "resnet34": (models.resnet34, 224),
    "resnet50": (models.resnet50, 224),
    "wide_resnet50_2": (models.wide_resnet50_2, 224),
    "resnext50_32x4d": (models.resnext50_32x4d, 224),
    "densenet121": (models.densenet121, 224),
    "squeezenet1_0": (models.squeezenet1_0, 224),
    "squeezenet1_1": (models.squeezenet1_1, 224),
    "mobilenet_v2": (models.mobilenet_v2, 224),
}


def structure(model):
    lines = sorted(f"{name} {','.join(str(d) for d in p.shape)}" for name, p in model.named_parameters())
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def adaptive_pool(name, g, n, c, h, w, oh, ow):
    x = torch.randn(n, c, h, w, generator=g, requires_grad=True)
    y = torch.nn.functional.adaptive_avg_pool2d(x, (oh, ow))
    dy = torch.randn(y.shape, generator=g)
    y.backward(dy)
    golden.write(name, {"x": x, "y": y, "dy": dy, "dx": x.grad}, {"outputSize": [oh, ow]})


def generate():
    g = golden.seeded(31)
    adaptive_pool("adaptive_avg_pool_14_to_4", g, 1, 1, 14, 14, 4, 4)   # GoogLeNet's aux heads at 224: overlapping windows
    adaptive_pool("adaptive_avg_pool_5x7_to_3x2", g, 1, 2, 5, 7, 3, 2)  # rectangular, uneven
    adaptive_pool("adaptive_avg_pool_1_to_7", g, 2, 1, 1, 1, 7, 7)      # VGG at 32×32: one value repeated
    adaptive_pool("adaptive_avg_pool_2x3_to_5x4", g, 1, 3, 2, 3, 5, 4)  # upsampling with shared elements

    result = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for name, (build, size) in MODELS.items():
            torch.manual_seed(0)
            model = build().eval()
            with torch.no_grad():
                logits = model(torch.zeros(1, 3, size, size))
            result[name] = {
                "imageSize": size,
                "parameters": sum(p.numel() for p in model.parameters()),
                "parameterTensors": sum(1 for _ in model.parameters()),
                "logits": list(logits.shape),
                "structure": structure(model),
            }
    doc = {"name": "zoo_torchvision", "generator": f"torch {torch.__version__}, torchvision {torchvision.__version__}",
           "models": result}
    os.makedirs(golden.OUT, exist_ok=True)
    with open(os.path.join(golden.OUT, "zoo_torchvision.json"), "w") as f:
        json.dump(doc, f, indent=1)


if __name__ == "__main__":
    generate()
