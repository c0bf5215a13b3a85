# SE-ResNet-110 for CIFAR (Tables 4-5): pre-activation ResNet-110 of [14]
# (basic units, 18 per stage, widths 16/32/64) with SE on every residual
# branch. depth=164 gives ResNet-164 (bottlenecks, head in_channels=256).
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='se_plugin.SECifarResNet', depth=110, se_ratio=16,
        out_indices=(2, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=64,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
