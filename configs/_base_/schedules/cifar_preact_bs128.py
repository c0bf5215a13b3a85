# Pre-activation ResNet recipe on CIFAR ([14], appendix): SGD momentum 0.9,
# weight decay 1e-4, batch 128, lr 0.1 divided by 10 at 32k and 48k
# iterations, stop at 64k; lr 0.01 for the first 400 iterations ("for all
# CIFAR experiments", following the original ResNet paper).
# 50k images / 128 = 391 iterations per epoch: 32k, 48k, 64k iterations
# are epochs 82 (32,062), 123 (48,093) and 164 (64,124).
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=1e-4))
param_scheduler = [
    dict(type='ConstantLR', factor=0.1, by_epoch=False, begin=0, end=400),
    dict(type='MultiStepLR', by_epoch=True, milestones=[82, 123], gamma=0.1),
]
train_cfg = dict(by_epoch=True, max_epochs=164, val_interval=1)
val_cfg = dict()
test_cfg = dict()
# lr 0.1 is for 1 GPU x 128 images = 128; --auto-scale-lr rescales it
# linearly to (GPUs x batch_size) / 128.
auto_scale_lr = dict(base_batch_size=128)
