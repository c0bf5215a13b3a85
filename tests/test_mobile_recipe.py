"""The paper's mobile recipe: lr /10 each time the validation loss
plateaus (Section 5.1), through se_plugin.ValLoss and mmengine's
ReduceOnPlateauLR."""
import copy
import os.path as osp

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.runner import Runner

from se_plugin import ValLoss

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
MOBILE = osp.join(REPO, 'configs/imagenet/semobilenet-v1_8xb32-mobile_in1k.py')


def test_val_loss_is_mean_cross_entropy():
    torch.manual_seed(0)
    logits = torch.randn(6, 5)
    labels = torch.tensor([0, 4, 2, 2, 1, 3])
    metric = ValLoss()
    metric.process(None, [
        dict(pred_score=s, gt_label=torch.tensor([y]))
        for s, y in zip(logits.softmax(1), labels)
    ])
    loss = metric.compute_metrics(metric.results)['loss']
    assert loss == pytest.approx(F.cross_entropy(logits, labels).item(),
                                 rel=1e-5)


def test_val_loss_names_what_is_missing():
    with pytest.raises(ValueError, match='pred_score'):
        ValLoss().process(None, [dict(pred_label=torch.tensor([1]),
                                      gt_label=torch.tensor([1]))])


@pytest.mark.slow  # trains four epochs
def test_lr_drops_tenfold_on_each_plateau(demo_root, tmp_path):
    """A learning rate too small to move the validation loss, and BN
    statistics that never update, make every epoch after the first a
    plateau: with patience 0 the recipe divides the lr by 10 after epochs
    2 and 3 (mmengine ends a by-epoch schedule at max_epochs, so the last
    epoch's validation changes nothing)."""
    cfg = Config.fromfile(MOBILE)
    # The config's SE-MobileNet at quarter width on the generated 4-class
    # ImageNet; the recipe (optimizer, plateau schedule, evaluators) is
    # the config's own.
    cfg.model.backbone.update(widen_factor=0.25,
                              norm_cfg=dict(type='BN', momentum=0.0))
    cfg.model.head.update(num_classes=4, in_channels=256, topk=(1, ))
    cfg.model.data_preprocessor = dict(num_classes=4)
    cfg.val_evaluator[0].topk = (1, )
    cfg.optim_wrapper.optimizer.lr = 1e-6
    cfg.param_scheduler.update(patience=0, min_value=0)
    cfg.train_cfg.max_epochs = 4
    cfg.randomness = dict(seed=0)
    for split in ('train', 'val', 'test'):
        loader = cfg[f'{split}_dataloader']
        loader.update(batch_size=8, num_workers=0)
        loader.dataset.data_root = osp.join(demo_root, 'imagenet')
        for t in loader.dataset.pipeline:
            if t.type == 'RandomResizedCrop':
                t.scale = 32
            elif t.type == 'ResizeEdge':
                t.scale = 36
            elif t.type == 'CenterCrop':
                t.crop_size = 32
    cfg.work_dir = str(tmp_path)
    cfg.default_hooks = dict(logger=dict(type='LoggerHook', interval=1))
    runner = Runner.from_cfg(copy.deepcopy(cfg))
    runner.train()
    lr = runner.optim_wrapper.get_lr()['lr'][0]
    assert lr == pytest.approx(1e-8, rel=1e-6)
    # The schedule found 'val/loss' (it raises KeyError otherwise) and saw
    # one loss per epoch.
    assert len(runner.message_hub.get_scalar('val/val/loss').data[0]) == 4
