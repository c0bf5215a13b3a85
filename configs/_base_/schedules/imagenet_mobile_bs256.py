# The paper's mobile recipe (Section 5.1): 8 GPUs x 32 = 256 images per
# step, SGD momentum 0.9, lr 0.1 divided by 10 "each time the validation
# loss plateaued", about 400 epochs in all. Not given there, chosen here:
# weight decay 4e-5 (ShuffleNet [65], the "lighter regularisation") and a
# patience of 10 epochs.
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=4e-5))
param_scheduler = dict(
    type='ReduceOnPlateauLR',
    monitor='val/loss',  # se_plugin.ValLoss in the val_evaluator
    rule='less',
    factor=0.1,
    patience=10,
    min_value=1e-5,
    by_epoch=True)
train_cfg = dict(by_epoch=True, max_epochs=400, val_interval=1)
val_cfg = dict()
test_cfg = dict()
# lr 0.1 is for 256 images per step; --auto-scale-lr rescales it linearly
# to (GPUs x batch_size) / 256.
auto_scale_lr = dict(base_batch_size=256)
