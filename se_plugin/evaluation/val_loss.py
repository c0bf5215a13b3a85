"""Validation loss as a metric, for the paper's mobile recipe (Section 5.1:
"reduced by a factor of 10 each time the validation loss plateaued").

mmpretrain's evaluators report accuracy only; with ``ValLoss`` in the
``val_evaluator`` list, mmengine's ``ReduceOnPlateauLR`` can monitor
``'val/loss'``.
"""
from typing import List, Sequence

import torch
from mmengine.evaluator import BaseMetric

from se_plugin.registry import METRICS


@METRICS.register_module()
class ValLoss(BaseMetric):
    """Mean cross-entropy ``-log p(gt)`` of a classifier's predictions.

    Reads each sample's ``pred_score`` (the softmax the classifier's head
    returns at test time) and ``gt_label``, as mmpretrain's ``Accuracy``.

    Args:
        eps: Floor on p(gt), so a zero probability gives a finite loss.
        prefix: Metric key prefix. Default: ``'val'`` (key ``'val/loss'``).

    Example:
        >>> metric = ValLoss()
        >>> metric.process(None, [dict(pred_score=torch.tensor([0.5, 0.5]),
        ...                            gt_label=torch.tensor([0]))])
        >>> metric.compute_metrics(metric.results)
        {'loss': 0.6931...}
    """

    default_prefix = 'val'

    def __init__(self, eps: float = 1e-12, **kwargs) -> None:
        super().__init__(**kwargs)
        self.eps = eps

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            if 'pred_score' not in sample:
                raise ValueError('ValLoss needs pred_score in the data '
                                 'samples (a classifier head with scores), '
                                 f'got keys {sorted(sample)}')
            score = sample['pred_score'].float().cpu()
            label = int(sample['gt_label'].reshape(-1)[0])
            self.results.append(
                -torch.log(score[label].clamp(min=self.eps)).item())

    def compute_metrics(self, results: List[float]) -> dict:
        return dict(loss=sum(results) / len(results))
