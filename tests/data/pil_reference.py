"""Oracle for tests/data and bench/: the reference's preprocessing of image files with torchvision
and PIL (PIL open + convert('RGB'), torchvision center_crop to the short side, Resize(R) = PIL
bilinear), written as raw uint8 N x 3 x R x R in the order of the list file.
Usage: python3 pil_reference.py LIST_FILE RESOLUTION OUT_RAW   (LIST_FILE: one image path per line)"""
import sys
import numpy as np
import torch
from PIL import Image
import torchvision.transforms.functional as F

torch.set_num_threads(1)
paths = [l.rstrip('\n') for l in open(sys.argv[1]) if l.strip()]
res = int(sys.argv[2])
with open(sys.argv[3], 'wb') as out:
  for p in paths:
    with open(p, 'rb') as f:
      img = Image.open(f).convert('RGB')
    img = F.center_crop(img, min(img.size))
    img = F.resize(img, res)
    out.write(np.ascontiguousarray(np.asarray(img, dtype=np.uint8).transpose(2, 0, 1)).tobytes())
