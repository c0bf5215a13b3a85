# What the classification demos shrink: 64x64 images, 56x56 crops, 4 classes,
# a short schedule. Names here are new (demo_*), so a demo config can take
# this beside its real config as a second base without clashing keys.
demo_train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=56),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
demo_test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=64, edge='short'),
    dict(type='CenterCrop', crop_size=56),
    dict(type='PackInputs'),
]
