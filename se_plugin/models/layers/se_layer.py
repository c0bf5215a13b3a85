"""The Squeeze-and-Excitation block (Hu et al., TPAMI, Section 3).

The paper's ablation axes are arguments with the paper's defaults:
reduction ratio (Table 10), squeeze operator (Table 11, Table 16's
NoSqueeze), excitation gate (Table 12) and FC bias (Section 6).
"""
import inspect
import warnings
from typing import Callable, Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmpretrain.models.utils import make_divisible

from se_plugin.registry import MODELS
from se_plugin.utils.checks import check_choice

SQUEEZES = ('avg', 'max', 'none')


def double_sigmoid(x: torch.Tensor) -> torch.Tensor:
    """``2 * sigmoid(x)``: a gate in (0, 2) that is exactly 1 at 0.

    With a zero ``fc2``, SE then scales by 1: a block with SE added to a
    pretrained plain network starts at the plain block's function (a
    sigmoid gate would start at 0.5, halving every residual branch).
    """
    return 2 * torch.sigmoid(x)


GATES = {
    'sigmoid': torch.sigmoid,
    'tanh': torch.tanh,
    'relu': F.relu,
    'hsigmoid': F.hardsigmoid,
    '2sigmoid': double_sigmoid,
}


def excite_pooled(z: torch.Tensor,
                  w1: torch.Tensor,
                  b1: Optional[torch.Tensor],
                  w2: torch.Tensor,
                  b2: Optional[torch.Tensor],
                  gate: Callable = torch.sigmoid) -> torch.Tensor:
    """``gate(W2 relu(W1 z))`` (Eq. 3) for a pooled (N, C) ``z``.

    The FC weights are the 1x1 convs' (C', C, 1, 1); on a pooled vector
    they are matrix products (a 1x1 conv call on a 1x1 map costs several
    times more in fixed overhead).
    """
    z = F.relu(F.linear(z, w1.flatten(1), b1), inplace=True)
    return gate(F.linear(z, w2.flatten(1), b2))


@MODELS.register_module()
class SELayer(nn.Module):
    """Squeeze-and-Excitation: ``x * gate(W2 relu(W1 squeeze(x)))`` (Eq. 2-4).

    Follows mmcv's plugin protocol (``in_channels``, ``_abbr_``), so mmdet's
    ResNet places it with ``plugins=[dict(cfg=dict(type='se_plugin.SELayer'),
    stages=(True, True, True, True), position='after_conv3')]``.

    Args:
        in_channels: Channels C of the input.
        ratio: Reduction ratio r; the bottleneck has ``C // r`` channels.
            A ratio above C would leave none: the width is clamped to 1
            with a warning that says so. Default: 16.
        squeeze_channels: Explicit bottleneck width; overrides ``ratio``.
        divisor: Round the bottleneck width ``C / r`` to a multiple of this
            (timm's and mmpretrain's SE widths, e.g. 8 for SE-ResNet-18's
            64-channel stage); None keeps the paper's ``C // r``.
        squeeze: ``'avg'`` (global average pooling, the paper's choice),
            ``'max'`` (global max pooling, Table 11) or ``'none'``
            (NoSqueeze, Table 16: the two FCs act as 1x1 convs at every
            position and the gate keeps the spatial size).
        gate: Excitation non-linearity: ``'sigmoid'`` (default), ``'tanh'``,
            ``'relu'`` (Table 12) or ``'hsigmoid'``.
        bias: Whether the two FC layers have biases. Default: True.
        fused: With ``identity``, compute ``identity + x * s`` in one
            ``addcmul`` (one pass over the block output) instead of a
            product and a sum; False keeps that unfused reference.
            Default: True.
        lean: In training, let SE-ResNet-family blocks run the standard
            position's BN -> SE -> sum -> ReLU as one autograd function
            that keeps the BN input instead of its output and recomputes
            the output in backward (``layers/lean_se.py``): no block-sized
            tensor more than the plain block keeps. Same values and
            gradients; False keeps autograd's module-by-module graph.
            Other backbones ignore it. Default: True.

    Example:
        >>> se = SELayer(64, ratio=16)
        >>> se(torch.rand(2, 64, 8, 8)).shape
        torch.Size([2, 64, 8, 8])
        >>> se(torch.rand(2, 64, 8, 8), identity=torch.rand(2, 64, 8, 8)).shape
        torch.Size([2, 64, 8, 8])
        >>> se.excite(torch.rand(2, 64, 8, 8)).shape
        torch.Size([2, 64, 1, 1])
    """

    _abbr_ = 'se'

    def __init__(self,
                 in_channels: int,
                 ratio: float = 16,
                 squeeze_channels: Optional[int] = None,
                 divisor: Optional[int] = None,
                 squeeze: str = 'avg',
                 gate: str = 'sigmoid',
                 bias: bool = True,
                 fused: bool = True,
                 lean: bool = True) -> None:
        super().__init__()
        if not isinstance(in_channels, int) or in_channels < 1:
            raise ValueError(
                f'in_channels must be a positive int, got {in_channels!r}')
        if squeeze_channels is None:
            if not isinstance(ratio, (int, float)) or ratio <= 0:
                raise ValueError(
                    f'ratio must be a positive number, got {ratio!r}')
            if divisor is None:
                squeeze_channels = int(in_channels // ratio)
                if squeeze_channels < 1:
                    # A warning, not an error: tiny test widths and thin
                    # mobile stages rely on the one-channel bottleneck.
                    warnings.warn(
                        f'SELayer: in_channels {in_channels} // ratio '
                        f'{ratio} is {squeeze_channels} channels; clamped '
                        'to squeeze_channels=1. Pass a ratio <= '
                        f'{in_channels} or squeeze_channels to choose.',
                        stacklevel=2)
                    squeeze_channels = 1
            elif isinstance(divisor, int) and divisor > 0:
                squeeze_channels = make_divisible(in_channels / ratio, divisor)
            else:
                raise ValueError(
                    f'divisor must be a positive int or None, got {divisor!r}')
        elif not isinstance(squeeze_channels, int) or squeeze_channels < 1:
            raise ValueError('squeeze_channels must be a positive int, '
                             f'got {squeeze_channels!r}')
        if not isinstance(lean, bool):
            raise ValueError(f'lean must be True or False, got {lean!r}')
        check_choice('squeeze', squeeze, SQUEEZES)
        check_choice('gate', gate, GATES)
        self.in_channels = in_channels
        self.squeeze_channels = squeeze_channels
        self.squeeze = squeeze
        self.gate = gate
        self._gate_fn = GATES[gate]
        self.fused = fused
        self.lean = lean
        # The FCs of Eq. 3 are stored as 1x1 convs (timm's and Caffe's
        # layout): the same weights serve the position-wise FCs of NoSqueeze.
        self.fc1 = nn.Conv2d(in_channels, squeeze_channels, 1, bias=bias)
        self.fc2 = nn.Conv2d(squeeze_channels, in_channels, 1, bias=bias)

    def identity_init(self) -> None:
        """Zero ``fc2`` so that the layer scales by exactly 1: the SE
        block starts as the plain block (fine-tuning a pretrained network).

        Needs ``gate='2sigmoid'``, the one gate that is 1 at 0 and has a
        gradient there (``fc2`` still learns from the first step).
        """
        if self.gate != '2sigmoid':
            raise ValueError("identity_init needs gate='2sigmoid' (1 at 0), "
                             f'got gate={self.gate!r}')
        nn.init.zeros_(self.fc2.weight)
        if self.fc2.bias is not None:
            nn.init.zeros_(self.fc2.bias)

    def excite(self, x: torch.Tensor) -> torch.Tensor:
        """The channel weights s of Eq. 3: (N, C, 1, 1), or (N, C, H, W)
        for ``squeeze='none'``."""
        if self.squeeze == 'none':
            return self._gate_fn(self.fc2(F.relu(self.fc1(x), inplace=True)))
        if self.squeeze == 'avg':
            # Pool in fp32: under AMP a half-precision sum over H*W loses bits.
            z = x.mean((2, 3), dtype=torch.float32).to(x.dtype)
        else:
            z = x.amax((2, 3))
        return excite_pooled(z, self.fc1.weight, self.fc1.bias,
                             self.fc2.weight, self.fc2.bias,
                             self._gate_fn)[..., None, None]

    def forward(self,
                x: torch.Tensor,
                identity: Optional[torch.Tensor] = None,
                inplace: bool = False) -> torch.Tensor:
        """``x * s``; with ``identity``, ``identity + x * s`` in one op.

        The second form is the standard SE-ResNet block's scale and residual
        sum fused: one pass over the block output instead of two. With
        ``inplace`` and autograd off, the result overwrites ``x``: no new
        block-sized buffer (on CPU, allocating one costs more than the sum).
        """
        s = self.excite(x)
        if identity is None:
            return x * s
        if not self.fused:
            return x * s + identity
        if inplace and not torch.is_grad_enabled():
            return torch.addcmul(identity, x, s, out=x)
        return torch.addcmul(identity, x, s)

    def extra_repr(self) -> str:
        return (f'{self.in_channels}, squeeze_channels={self.squeeze_channels}'
                f', squeeze={self.squeeze!r}, gate={self.gate!r}')


# SELayer options a backbone's ``se_cfg`` may set: every keyword of SELayer
# but the ones the backbone decides (channels from the stage, ratio from
# ``se_ratio``, width from the ratio).
SE_CFG_KEYS = tuple(
    name for name in inspect.signature(SELayer).parameters
    if name not in ('in_channels', 'ratio', 'squeeze_channels'))


def check_se_args(se_ratio: float,
                  se_stages: Optional[Sequence[bool]],
                  num_stages: int,
                  se_cfg: Optional[dict] = None,
                  stage_name: str = 'stage',
                  prefix: str = 'se_') -> Tuple[Tuple[bool, ...], dict]:
    """Validate the SE arguments every se_plugin backbone takes.

    Returns ``se_stages`` as a tuple (None means every stage) and a copy of
    ``se_cfg``. ``stage_name`` says what a stage is in the error message
    (e.g. ``'conv stage'``, ``'Inception module'``); ``prefix`` starts the
    names of the ratio and stages fields in it (``add_se`` calls them
    ``ratio`` and ``stages``).
    """
    if se_stages is None:
        se_stages = (True, ) * num_stages
    if (not isinstance(se_stages, (list, tuple))
            or len(se_stages) != num_stages
            or not all(isinstance(s, bool) for s in se_stages)):
        raise ValueError(f'{prefix}stages must be {num_stages} bools, one per '
                         f'{stage_name}, got {se_stages!r}')
    if (isinstance(se_ratio, bool) or not isinstance(se_ratio, (int, float))
            or se_ratio <= 0):
        raise ValueError(
            f'{prefix}ratio must be a positive number, got {se_ratio!r}')
    if se_cfg is not None and not isinstance(se_cfg, dict):
        raise ValueError('se_cfg must be a dict of SELayer options '
                         f'{SE_CFG_KEYS}, got {se_cfg!r}')
    se_cfg = dict(se_cfg or {})
    for key in se_cfg:
        check_choice('se_cfg key', key, SE_CFG_KEYS)
    return tuple(se_stages), se_cfg
