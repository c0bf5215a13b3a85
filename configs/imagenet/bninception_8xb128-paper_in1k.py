# Plain twin of sebninception_8xb128-paper_in1k: every SE stage off.
_base_ = './sebninception_8xb128-paper_in1k.py'

model = dict(backbone=dict(se_stages=(False, ) * 3))
