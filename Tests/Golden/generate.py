"""Regenerates every golden file. Run with Debian's PyTorch:  /usr/bin/python3 Tests/Golden/generate.py
Each gen_*.py module beside this file has a generate() that writes its files through golden.write."""
import glob, importlib, os, sys

import torch

torch.set_num_threads(1)
here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
for path in sorted(glob.glob(os.path.join(here, "gen_*.py"))):
    module = importlib.import_module(os.path.splitext(os.path.basename(path))[0])
    module.generate()
    print(f"{os.path.basename(path)}: done")
