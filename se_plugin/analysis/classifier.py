"""The classifier config every se_plugin backbone is measured and
converted in: backbone, global average pool, linear head (Table 1)."""
from typing import Optional

# Backbones whose output width follows from depth and base_channels.
RESNET_FAMILY = ('se_plugin.SEResNet', 'se_plugin.SEResNeXt',
                 'se_plugin.SENet154')


def resnet_width(backbone: dict) -> int:
    """Channels of the last stage of an se_plugin ResNet-family backbone
    config: ``base_channels * 2**(num_stages - 1) * expansion``."""
    if backbone.get('type') not in RESNET_FAMILY:
        raise ValueError(
            'in_channels: the head width is known only for the ResNet family '
            f'{RESNET_FAMILY}; give in_channels for {backbone.get("type")!r}')
    basic = backbone.get('depth') in (18, 34)
    return (backbone.get('base_channels', 64) *
            2**(backbone.get('num_stages', 4) - 1) * (1 if basic else 4))


def classifier(backbone: dict, num_classes: int = 1000,
               in_channels: Optional[int] = None, **extra) -> dict:
    """An mmpretrain ImageClassifier config around ``backbone``.

    ``in_channels`` (the backbone's output width) may be left out for the
    ResNet family only (:func:`resnet_width`); for any other backbone it is
    an error to leave it out, not a guess.
    """
    return dict(
        type='mmpretrain.ImageClassifier',
        backbone=backbone,
        neck=dict(type='mmpretrain.GlobalAveragePooling'),
        head=dict(
            type='mmpretrain.LinearClsHead',
            num_classes=num_classes,
            in_channels=in_channels or resnet_width(backbone)),
        **extra)
