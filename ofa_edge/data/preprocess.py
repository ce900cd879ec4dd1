"""One image as the network's input, exactly as ofa-edge's loaders and transforms prepare it.

Standalone (numpy and Pillow only): an export bundle ships this file as ``preprocess.py`` beside its
``preprocessing.json``, and the ImageFolder loader (:mod:`ofa_edge.data.datasets`) crops with
:func:`fit_square`, so training, evaluation, export and deployment share one crop.

    from PIL import Image
    pre = json.load(open("preprocessing.json"))
    x = preprocess(Image.open("photo.jpg"), pre)  # float32 (1, 3, resolution, resolution)
"""

from __future__ import annotations

from typing import Any

import numpy as np
from PIL import Image


def fit_square(img: Image.Image, size: int) -> Image.Image:
    """Resize ``img`` so its shorter side is ``size`` (bilinear), then cut the centred ``size`` x ``size``
    square: what ImageFolder images are decoded to, whatever their aspect ratio."""
    scale = size / min(img.size)
    img = img.resize((max(size, round(img.width * scale)), max(size, round(img.height * scale))), Image.BILINEAR)
    left, top = (img.width - size) // 2, (img.height - size) // 2
    return img.crop((left, top, left + size, top + size))


def preprocess(image: Image.Image, pre: dict[str, Any]) -> np.ndarray:
    """``image`` as the float32 NCHW batch of one that the model takes, following ``pre`` (a bundle's
    ``preprocessing.json``): RGB; the centred square of ``crop_size`` (when set); ``(x / 255 - mean) / std``;
    a bilinear, antialiased resize to ``resolution`` x ``resolution`` (which ofa-edge does on the normalised
    tensor with torch's ``interpolate(..., antialias=True)``: Pillow's float resize agrees to about 1e-5)."""
    img = image.convert("RGB")
    if pre.get("crop_size"):
        img = fit_square(img, int(pre["crop_size"]))
    mean, std = np.asarray(pre["mean"], np.float32), np.asarray(pre["std"], np.float32)
    x = (np.asarray(img, np.float32) / 255 - mean) / std
    side = int(pre["resolution"])
    if x.shape[:2] != (side, side):
        planes = [Image.fromarray(np.ascontiguousarray(x[..., c])) for c in range(x.shape[2])]
        x = np.stack([np.asarray(p.resize((side, side), Image.BILINEAR)) for p in planes], axis=-1)
    return np.ascontiguousarray(x.transpose(2, 0, 1)[None], dtype=np.float32)
