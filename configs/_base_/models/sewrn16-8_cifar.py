# SE-WRN-16-8 for CIFAR (Tables 4-5): Wide ResNet [67], 2 pre-activation
# basic units per stage, widths 128/256/512, SE on every residual branch.
# No dropout: WRN's 4.27 / 20.43 results for 16-8 are without it.
model = dict(
    type='ImageClassifier',
    backbone=dict(
        type='se_plugin.SEWideResNet', depth=16, widen_factor=8,
        drop_rate=0., se_ratio=16, out_indices=(2, )),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=512,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
