# configs/add_se/se-mobilenet-v2_8xb32_in1k.py (mmpretrain's MobileNetV2
# with SE added by AddSE) on the embedded ImageNet-format data (4 classes,
# 64x64 images): quarter width, 56x56 crops, short schedule.
_base_ = [
    '../add_se/se-mobilenet-v2_8xb32_in1k.py',
    './_base_/small_classification.py',
]

data_root = 'data/demo/imagenet'
model = dict(
    backbone=dict(widen_factor=0.25),
    head=dict(num_classes=4, topk=(1, 2)))
data_preprocessor = dict(num_classes=4)

train_dataloader = dict(
    batch_size=16, num_workers=0,
    dataset=dict(type='se_plugin.ImageNet', data_root=data_root,
                 pipeline={{_base_.demo_train_pipeline}}))
val_dataloader = dict(
    batch_size=16, num_workers=0,
    dataset=dict(type='se_plugin.ImageNet', data_root=data_root,
                 pipeline={{_base_.demo_test_pipeline}}))
test_dataloader = val_dataloader
val_evaluator = dict(topk=(1, 2))
test_evaluator = val_evaluator

optim_wrapper = dict(optimizer=dict(lr=0.05))
train_cfg = dict(max_epochs=2, val_interval=2)
default_hooks = dict(
    logger=dict(interval=2), checkpoint=dict(max_keep_ckpts=1))
