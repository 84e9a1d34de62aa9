"""The measurement both PyTorch peers share (pytorch_lenet5.py, pytorch_resnet20.py), the same one `neuro bench`
makes: training images/s at a batch size after two seconds of warm-up, and batch-1 inference microseconds per image
including the copy of the logits out. Arguments: [batch] [steps] [threads]. Prints one JSON object."""
import json, sys, time
import torch
import torch.nn.functional as F


def arguments(default_steps):
    """(batch, steps, threads) from the command line; sets PyTorch's thread count and seed."""
    batch = int(sys.argv[1]) if len(sys.argv) > 1 else 64
    steps = int(sys.argv[2]) if len(sys.argv) > 2 else default_steps
    threads = int(sys.argv[3]) if len(sys.argv) > 3 else 1
    torch.set_num_threads(threads)
    torch.manual_seed(1)
    return batch, steps, threads


def measure(model, image_shape, batch, steps, threads, inference_warmup):
    """Times plain SGD training steps on random data, then eval-mode batch-1 inference; prints the JSON result."""
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    x = torch.rand(batch, *image_shape) * 2 - 1
    y = torch.randint(0, 10, (batch,))

    def step():
        optimizer.zero_grad()
        F.cross_entropy(model(x), y).backward()
        optimizer.step()

    model.train()
    start = time.perf_counter()
    while time.perf_counter() - start < 2:
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    train = steps * batch / (time.perf_counter() - start)

    model.eval()
    image = torch.rand(1, *image_shape)
    runs = max(50, steps * 2)
    with torch.no_grad():
        for _ in range(inference_warmup):
            model(image).numpy()
        start = time.perf_counter()
        for _ in range(runs):
            model(image).numpy()
    infer = (time.perf_counter() - start) / runs * 1e6
    print(json.dumps({"backend": "pytorch-cpu", "device": f"PyTorch {torch.__version__}, {threads} thread{'s' if threads > 1 else ''}",
                      "batch": batch, "steps": steps, "trainImagesPerSecond": train, "inferenceMicrosecondsPerImage": infer}))
