_base_ = './seresnet50_8xb128-paper_in1k.py'

model = dict(backbone=dict(depth=101))
