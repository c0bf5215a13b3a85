# ImageNet-1k for the paper's recipe (Section 5.1): 128 images per GPU
# (8 GPUs x 128 = 1024), RandomResizedCrop 224 + flip; evaluation on the
# centre 224 crop after resizing the short edge to 256 (mmpretrain's
# pipeline). se_plugin.ImageNet checks the list lines (file, line).
_base_ = 'mmpretrain::_base_/datasets/imagenet_bs32.py'

train_dataloader = dict(
    batch_size=128, dataset=dict(type='se_plugin.ImageNet'))
val_dataloader = dict(batch_size=128, dataset=dict(type='se_plugin.ImageNet'))
test_dataloader = val_dataloader
