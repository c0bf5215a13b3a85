from .coco import CocoDataset
from .imagenet import ImageNet
from .places365 import Places365

__all__ = ['CocoDataset', 'ImageNet', 'Places365']
