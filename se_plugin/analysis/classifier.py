"""The classifier config every se_plugin backbone is measured and
converted in: backbone, global average pool, linear head (Table 1)."""
from typing import Optional


def classifier(backbone: dict, num_classes: int = 1000,
               in_channels: Optional[int] = None, **extra) -> dict:
    """An mmpretrain ImageClassifier config around ``backbone``;
    ``in_channels`` defaults to a ResNet's (512 for depth 18/34, else 2048).
    """
    channels = in_channels or (512 if backbone.get('depth') in (18, 34)
                               else 2048)
    return dict(
        type='mmpretrain.ImageClassifier',
        backbone=backbone,
        neck=dict(type='mmpretrain.GlobalAveragePooling'),
        head=dict(
            type='mmpretrain.LinearClsHead',
            num_classes=num_classes,
            in_channels=channels),
        **extra)
