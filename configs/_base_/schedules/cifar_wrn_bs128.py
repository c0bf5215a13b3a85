# Wide ResNet recipe on CIFAR ([67]): SGD with Nesterov momentum 0.9
# (dampening 0), weight decay 5e-4, batch 128, lr 0.1 multiplied by 0.2 at
# epochs 60, 120 and 160, 200 epochs (78,200 iterations at 391 per epoch).
optim_wrapper = dict(
    optimizer=dict(
        type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4, nesterov=True))
param_scheduler = dict(
    type='MultiStepLR', by_epoch=True, milestones=[60, 120, 160], gamma=0.2)
train_cfg = dict(by_epoch=True, max_epochs=200, val_interval=1)
val_cfg = dict()
test_cfg = dict()
# lr 0.1 is for 1 GPU x 128 images = 128; --auto-scale-lr rescales it
# linearly to (GPUs x batch_size) / 128.
auto_scale_lr = dict(base_batch_size=128)
