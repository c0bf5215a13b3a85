# SE-Inception-ResNet-v2 (Table 2) with the paper's recipe
# (seresnet50_8xb128-paper_in1k) at 299 x 299 (Section 5.1): train on
# random-resized 299 crops; evaluate on the centre 299 crop after resizing
# the short edge to 352.
_base_ = [
    '../_base_/models/seinception-resnet-v2.py',
    '../_base_/datasets/imagenet_bs128.py',
    '../_base_/schedules/imagenet_paper_bs1024.py',
    'mmpretrain::_base_/default_runtime.py',
    '../_base_/default_runtime.py',
]

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=299),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=352, edge='short'),
    dict(type='CenterCrop', crop_size=299),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(pipeline=test_pipeline))
test_dataloader = val_dataloader
