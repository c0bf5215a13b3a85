# Plain twin of sevgg16bn_8xb128-paper_in1k (VGG-16 with BN): SE stages off.
_base_ = './sevgg16bn_8xb128-paper_in1k.py'

model = dict(backbone=dict(se_stages=(False, ) * 5))
