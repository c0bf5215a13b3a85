# Plain twin of seinception-resnet-v2_8xb128-paper_in1k: SE stages off.
_base_ = './seinception-resnet-v2_8xb128-paper_in1k.py'

model = dict(backbone=dict(se_stages=(False, ) * 3))
