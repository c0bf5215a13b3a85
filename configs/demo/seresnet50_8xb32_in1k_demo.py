# configs/imagenet/seresnet50_8xb32_in1k.py on the embedded ImageNet-format
# data (4 classes, 64x64 images): quarter width, 56x56 crops, short schedule.
_base_ = [
    '../imagenet/seresnet50_8xb32_in1k.py',
    './_base_/small_classification.py',
]

data_root = 'data/demo/imagenet'
model = dict(
    backbone=dict(stem_channels=16, base_channels=16),
    head=dict(num_classes=4, in_channels=512, topk=(1, 2)))
data_preprocessor = dict(num_classes=4)

train_dataloader = dict(
    batch_size=16, num_workers=0,
    dataset=dict(data_root=data_root,
                 pipeline={{_base_.demo_train_pipeline}}))
val_dataloader = dict(
    batch_size=16, num_workers=0,
    dataset=dict(data_root=data_root, pipeline={{_base_.demo_test_pipeline}}))
test_dataloader = val_dataloader
val_evaluator = dict(topk=(1, 2))
test_evaluator = val_evaluator

optim_wrapper = dict(optimizer=dict(lr=0.05))
param_scheduler = dict(milestones=[3])
train_cfg = dict(max_epochs=4, val_interval=4)
default_hooks = dict(logger=dict(interval=2), checkpoint=dict(max_keep_ckpts=1))
