# SE-Inception-ResNet-v2 (Table 2): SE on each block's residual branch
# before the sum, r = 16, with the paper's recipe
# (seresnet50_8xb128-paper_in1k) at 299 x 299 (Section 5.1): train on
# random-resized 299 crops; evaluate on the centre 299 crop after resizing
# the short edge to 352.
_base_ = './seresnet50_8xb128-paper_in1k.py'

model = dict(
    backbone=dict(_delete_=True, type='se_plugin.SEInceptionResNetV2'),
    head=dict(in_channels=1536))

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
