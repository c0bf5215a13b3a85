"""Classification heads."""
from typing import Tuple

import torch
import torch.nn as nn
from mmpretrain.models.heads import LinearClsHead

from se_plugin.registry import MODELS


@MODELS.register_module()
class DropoutLinearClsHead(LinearClsHead):
    """mmpretrain's LinearClsHead with dropout on the pooled features, as
    SENet-154's classifier (dropout 0.2, appendix).

    Args:
        dropout: Drop probability before the FC. Default: 0.2.
        **kwargs: ``LinearClsHead`` arguments (``num_classes``,
            ``in_channels``, ``loss``, ``topk`` ...).
    """

    def __init__(self, dropout: float = 0.2, **kwargs) -> None:
        super().__init__(**kwargs)
        if not 0 <= dropout < 1:
            raise ValueError(f'dropout must be in [0, 1), got {dropout!r}')
        self.dropout = nn.Dropout(dropout)

    def pre_logits(self, feats: Tuple[torch.Tensor]) -> torch.Tensor:
        return self.dropout(feats[-1])
