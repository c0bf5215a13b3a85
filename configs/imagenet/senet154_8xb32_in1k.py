# SENet-154 (appendix) on ImageNet-1k: 8 GPUs x 32 images, lr 0.1 for 256,
# dropout 0.2 before the classifier.
_base_ = [
    '../_base_/models/senet154.py',
    '../_base_/datasets/imagenet_bs32.py',
    'mmpretrain::_base_/schedules/imagenet_bs256.py',
    'mmpretrain::_base_/default_runtime.py',
    '../_base_/default_runtime.py',
]

# lr 0.1 is for 8 GPUs x 32 images = 256; --auto-scale-lr rescales it
# linearly to (GPUs x batch_size) / 256.
auto_scale_lr = dict(base_batch_size=256)
