# ImageNet for the paper's mobile models (Section 5.1, "Mobile setting"):
# mmpretrain's ImageNet pipeline with "slightly less aggressive data
# augmentation ... as in [65]" (ShuffleNet). Neither paper gives the
# numbers; we keep crops of at least 25% of the image area
# (RandomResizedCrop's default is 8%). Validation also reports the loss
# (se_plugin.ValLoss), which the plateau schedule monitors.
_base_ = 'mmpretrain::_base_/datasets/imagenet_bs32.py'

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='RandomResizedCrop', scale=224, crop_ratio_range=(0.25, 1.0)),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='PackInputs'),
]
# se_plugin.ImageNet: mmpretrain's, with list lines checked (file, line).
train_dataloader = dict(
    dataset=dict(type='se_plugin.ImageNet', pipeline=train_pipeline))
val_dataloader = dict(dataset=dict(type='se_plugin.ImageNet'))
test_dataloader = val_dataloader
val_evaluator = [
    dict(type='Accuracy', topk=(1, 5)),
    dict(type='se_plugin.ValLoss'),
]
test_evaluator = val_evaluator
