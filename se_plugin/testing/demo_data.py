"""Small learnable datasets in the official on-disk formats, made in seconds.

Deterministic (seeded), no downloads. Each class is a coloured shape or
texture on a noisy background, so a small network learns it in minutes:

- ImageNet: ``train/<wnid>/<wnid>_<n>.JPEG``, ``val/ILSVRC2012_val_<n>.JPEG``
  and ``meta/{train,val}.txt`` ("<path> <index>"), as mmpretrain reads them.
- Places365: ``categories_places365.txt``, ``places365_train_standard.txt``,
  ``places365_train_challenge.txt``, ``places365_val.txt``, ``data_256/``
  and ``val_256/``, as the official release lays them out.
- COCO: ``train2017/``, ``val2017/`` and
  ``annotations/instances_{train,val}2017.json``.
"""
import json
import os
import os.path as osp
from typing import List, Tuple

import cv2
import numpy as np

# (name, BGR colour, shape); classification uses all, detection the first 3.
CLASSES = [
    ('square', (40, 40, 220), 'square'),
    ('disc', (40, 200, 40), 'disc'),
    ('triangle', (220, 60, 40), 'triangle'),
    ('stripes', (30, 200, 230), 'stripes'),
]
DET_CLASSES = tuple(name for name, _, _ in CLASSES[:3])


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    base = rng.integers(90, 160)
    noise = rng.normal(0, 12, (size, size, 3))
    return np.clip(base + noise, 0, 255).astype(np.uint8)


def _draw(img: np.ndarray, shape: str, colour, box: Tuple[int, int, int,
                                                          int]) -> None:
    x, y, w, h = box
    colour = tuple(int(c) for c in colour)
    if shape == 'square':
        cv2.rectangle(img, (x, y), (x + w - 1, y + h - 1), colour, -1)
    elif shape == 'disc':
        cv2.ellipse(img, (x + w // 2, y + h // 2), (w // 2, h // 2), 0, 0,
                    360, colour, -1)
    elif shape == 'triangle':
        pts = np.array([[x + w // 2, y], [x, y + h - 1],
                        [x + w - 1, y + h - 1]])
        cv2.fillPoly(img, [pts], colour)
    else:  # stripes: a texture class
        for yy in range(y, y + h, 6):
            cv2.rectangle(img, (x, yy), (x + w - 1, min(yy + 2, y + h - 1)),
                          colour, -1)


def classification_image(rng: np.random.Generator, label: int,
                         size: int) -> np.ndarray:
    img = _background(rng, size)
    _, colour, shape = CLASSES[label]
    w = int(rng.integers(size // 2, size - 4))
    h = w if shape != 'stripes' else int(rng.integers(size // 2, size - 4))
    x, y = (int(rng.integers(0, size - s)) for s in (w, h))
    jitter = rng.integers(-25, 26, 3)
    _draw(img, shape, np.clip(np.array(colour) + jitter, 0, 255), (x, y, w, h))
    return img


def _write(path: str, img: np.ndarray) -> None:
    os.makedirs(osp.dirname(path), exist_ok=True)
    if not cv2.imwrite(path, img):
        raise OSError(f'could not write {path}')


def make_imagenet(root: str, per_class: Tuple[int, int] = (24, 8),
                  size: int = 64, seed: int = 0) -> str:
    """ImageNet-1k layout with ``len(CLASSES)`` classes; returns ``root``."""
    rng = np.random.default_rng(seed)
    wnids = [f'n{i:08d}' for i in range(len(CLASSES))]
    os.makedirs(osp.join(root, 'meta'), exist_ok=True)
    train, val = [], []
    for label, wnid in enumerate(wnids):
        for n in range(per_class[0]):
            rel = f'{wnid}/{wnid}_{n}.JPEG'
            _write(osp.join(root, 'train', rel),
                   classification_image(rng, label, size))
            train.append(f'{rel} {label}')
    for n in range(per_class[1] * len(wnids)):
        label = n % len(wnids)
        rel = f'ILSVRC2012_val_{n + 1:08d}.JPEG'
        _write(osp.join(root, 'val', rel),
               classification_image(rng, label, size))
        val.append(f'{rel} {label}')
    _write_lines(osp.join(root, 'meta', 'train.txt'), train)
    _write_lines(osp.join(root, 'meta', 'val.txt'), val)
    return root


def make_places365(root: str, per_class: Tuple[int, int] = (24, 8),
                   size: int = 64, seed: int = 1) -> str:
    """Places365 release layout with ``len(CLASSES)`` scene classes."""
    rng = np.random.default_rng(seed)
    names = [f'/{n[0]}/{n}' for n, _, _ in CLASSES]
    _write_lines(
        osp.join(root, 'categories_places365.txt'),
        [f'{name} {i}' for i, name in enumerate(names)])
    train = []
    for label, name in enumerate(names):
        for n in range(per_class[0]):
            rel = f'{name}/{n + 1:08d}.jpg'
            _write(osp.join(root, 'data_256', rel.lstrip('/')),
                   classification_image(rng, label, size))
            train.append(f'{rel} {label}')
    val = []
    for n in range(per_class[1] * len(names)):
        label = n % len(names)
        rel = f'Places365_val_{n + 1:08d}.jpg'
        _write(osp.join(root, 'val_256', rel),
               classification_image(rng, label, size))
        val.append(f'{rel} {label}')
    _write_lines(osp.join(root, 'places365_train_standard.txt'), train)
    # The Challenge list is a superset of Standard; here, the same images.
    _write_lines(osp.join(root, 'places365_train_challenge.txt'), train)
    _write_lines(osp.join(root, 'places365_val.txt'), val)
    return root


def _detection_image(rng: np.random.Generator,
                     size: int) -> Tuple[np.ndarray, List[Tuple]]:
    img = _background(rng, size)
    objects = []
    for _ in range(int(rng.integers(1, 4))):
        label = int(rng.integers(0, len(DET_CLASSES)))
        for _attempt in range(20):
            s = int(rng.integers(size // 5, size // 2))
            x, y = (int(v) for v in rng.integers(0, size - s, 2))
            if all(_iou((x, y, s, s), o[1]) == 0 for o in objects):
                break
        else:
            continue
        _, colour, shape = CLASSES[label]
        _draw(img, shape, colour, (x, y, s, s))
        objects.append((label, (x, y, s, s)))
    return img, objects


def _iou(a, b) -> float:
    ix = max(0, min(a[0] + a[2], b[0] + b[2]) - max(a[0], b[0]))
    iy = max(0, min(a[1] + a[3], b[1] + b[3]) - max(a[1], b[1]))
    inter = ix * iy
    return inter / (a[2] * a[3] + b[2] * b[3] - inter)


def make_coco(root: str, num_images: Tuple[int, int] = (128, 32),
              size: int = 128, seed: int = 2) -> str:
    """COCO 2017 layout with the ``DET_CLASSES`` categories (ids from 1)."""
    rng = np.random.default_rng(seed)
    categories = [
        dict(id=i + 1, name=name, supercategory='shape')
        for i, name in enumerate(DET_CLASSES)
    ]
    ann_id = 1
    for split, count in zip(('train2017', 'val2017'), num_images):
        images, annotations = [], []
        for n in range(count):
            img, objects = _detection_image(rng, size)
            file_name = f'{n + 1:012d}.jpg'
            _write(osp.join(root, split, file_name), img)
            images.append(
                dict(id=n + 1, file_name=file_name, width=size, height=size))
            for label, (x, y, w, h) in objects:
                annotations.append(
                    dict(id=ann_id, image_id=n + 1, category_id=label + 1,
                         bbox=[x, y, w, h], area=float(w * h), iscrowd=0,
                         segmentation=[[x, y, x + w, y, x + w, y + h, x,
                                        y + h]]))
                ann_id += 1
        os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
        with open(osp.join(root, 'annotations', f'instances_{split}.json'),
                  'w') as f:
            json.dump(
                dict(images=images, annotations=annotations,
                     categories=categories), f)
    return root


def _write_lines(path: str, lines: List[str]) -> None:
    os.makedirs(osp.dirname(path), exist_ok=True)
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')


def make_all(root: str) -> None:
    """Write all three datasets under ``root``: imagenet/, places365/,
    coco/."""
    make_imagenet(osp.join(root, 'imagenet'))
    make_places365(osp.join(root, 'places365'))
    make_coco(osp.join(root, 'coco'))
