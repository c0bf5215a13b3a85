# The paper's ImageNet recipe (Section 5.1): synchronous SGD, momentum 0.9,
# minibatch 1024, lr 0.6 divided by 10 every 30 epochs, 100 epochs.
# Weight decay is not given in the paper; 1e-4 is the ResNet standard.
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.6, momentum=0.9, weight_decay=1e-4))
param_scheduler = dict(
    type='MultiStepLR', by_epoch=True, milestones=[30, 60, 90], gamma=0.1)
train_cfg = dict(by_epoch=True, max_epochs=100, val_interval=1)
val_cfg = dict()
test_cfg = dict()
# lr 0.6 is for 1024 images per step (8 GPUs x 128); --auto-scale-lr
# rescales it linearly to (GPUs x batch_size) / 1024.
auto_scale_lr = dict(base_batch_size=1024)
