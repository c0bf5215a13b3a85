"""The classification heads."""
import pytest
import torch

from se_plugin import DropoutLinearClsHead


def test_dropout_head():
    head = DropoutLinearClsHead(dropout=0.5, num_classes=3, in_channels=8)
    feats = (torch.ones(4, 8), )
    head.eval()
    assert torch.equal(head.pre_logits(feats), feats[0])
    head.train()
    dropped = head.pre_logits(feats)
    assert set(dropped.unique().tolist()) <= {0.0, 2.0}
    assert (dropped == 0).any()
    with pytest.raises(ValueError, match='dropout must be'):
        DropoutLinearClsHead(dropout=1.5, num_classes=3, in_channels=8)
