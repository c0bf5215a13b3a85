# CIFAR-100 as in Section 5: zero-pad 4 pixels each side, random 32x32 crop,
# random horizontal flip; per-channel mean/std normalisation. 128 images
# per batch, as [14] and [67].
_base_ = 'mmpretrain::_base_/datasets/cifar100_bs16.py'

train_dataloader = dict(batch_size=128)
val_dataloader = dict(batch_size=128)
test_dataloader = val_dataloader
