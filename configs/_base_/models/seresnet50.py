# SE-ResNet-50 classifier (Table 1). The paper's released models put the
# stride on the first 1x1 conv (style='caffe'); torchvision, timm and
# mmpretrain weights use style='pytorch'.
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='se_plugin.SEResNet',
        depth=50,
        out_indices=(3, ),
        style='pytorch',
        se_ratio=16),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=2048,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0),
        topk=(1, 5)))
