# ImageNet-1k, mmpretrain's pipeline and 32 images per GPU, with
# se_plugin.ImageNet: mmpretrain's dataset with list lines checked (file,
# line).
_base_ = 'mmpretrain::_base_/datasets/imagenet_bs32.py'

train_dataloader = dict(dataset=dict(type='se_plugin.ImageNet'))
val_dataloader = dict(dataset=dict(type='se_plugin.ImageNet'))
test_dataloader = val_dataloader
