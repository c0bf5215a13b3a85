# SE-BN-Inception (Table 2, Fig. 2): SE on each Inception module's output,
# r = 16, with the paper's recipe (seresnet50_8xb128-paper_in1k).
_base_ = './seresnet50_8xb128-paper_in1k.py'

model = dict(
    backbone=dict(_delete_=True, type='se_plugin.SEBNInception'),
    head=dict(in_channels=1024))
