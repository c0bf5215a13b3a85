# The Places365 recipe of configs/places365/seresnet152_8xb32_places365.py
# (Table 6) with a smaller trunk, an SE-ResNet-50 at quarter width, on the
# embedded Places365-format data (4 scene classes, 64x64): 56x56 crops,
# short schedule.
_base_ = [
    '../places365/seresnet152_8xb32_places365.py',
    './_base_/small_classification.py',
]

data_root = 'data/demo/places365'
model = dict(
    backbone=dict(depth=50, stem_channels=16, base_channels=16),
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
