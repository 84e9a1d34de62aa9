"""The peer of `neuro bench --model resnet_cifar`: PyTorch (Debian's python3-torch, CPU) on the same ResNet-20
(Tests/Interop/pytorch_resnet_cifar.py: 3 stages of 3 basic blocks, 16/32/64 channels, option-A shortcuts) on 3×32×32
images and the same measurement (see pytorch_bench.py). Prints one JSON object.
Run with /usr/bin/python3:  pytorch_resnet20.py [batch] [steps] [threads]"""
import os, sys

from pytorch_bench import arguments, measure

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Interop"))
from pytorch_resnet_cifar import ResNet20  # noqa: E402  (after the path)

batch, steps, threads = arguments(default_steps=20)
measure(ResNet20(channels=3), (3, 32, 32), batch, steps, threads, inference_warmup=20)
