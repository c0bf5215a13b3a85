# SE-ResNet-50 on ImageNet-1k, mmpretrain's zoo recipe: 8 GPUs x 32 images,
# SGD lr 0.1 (for 256 images), steps at 30/60/90 of 100 epochs. Compare
# with mmpretrain's model zoo. The paper's own recipe: *_8xb128-paper_in1k.
_base_ = [
    '../_base_/models/seresnet50.py',
    '../_base_/datasets/imagenet_bs32.py',
    'mmpretrain::_base_/schedules/imagenet_bs256.py',
    'mmpretrain::_base_/default_runtime.py',
    '../_base_/default_runtime.py',
]

# lr 0.1 is for 8 GPUs x 32 images = 256; --auto-scale-lr rescales it
# linearly to (GPUs x batch_size) / 256.
auto_scale_lr = dict(base_batch_size=256)
