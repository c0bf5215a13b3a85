# SE-ResNet-152 on Places365-Standard, trained from scratch (Table 6):
# 8 GPUs x 32 images, SGD lr 0.1, /10 at epochs 30/60/90 of 100.
_base_ = [
    '../_base_/models/seresnet50.py',
    '../_base_/datasets/places365_bs32.py',
    'mmpretrain::_base_/schedules/imagenet_bs256.py',
    'mmpretrain::_base_/default_runtime.py',
    '../_base_/default_runtime.py',
]

model = dict(backbone=dict(depth=152), head=dict(num_classes=365))
# lr 0.1 is for 8 GPUs x 32 images = 256; --auto-scale-lr rescales it
# linearly to (GPUs x batch_size) / 256.
auto_scale_lr = dict(base_batch_size=256)
