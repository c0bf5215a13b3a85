_base_ = './seresnet50_8xb32_in1k.py'

model = dict(backbone=dict(depth=152))
