"""The forward of a residual block with one SE layer (Fig. 5, Table 14).

One mixin serves every ResNet-family block that carries an SE layer: our
own SE-ResNets (``backbones/se_resnet.py``) and the host blocks that
:func:`se_plugin.add_se` gives SE (``models/hosts.py``). A block family
says only how its residual branch runs (:meth:`SEResidualForward.residual`)
and which norm ends it (:attr:`SEResidualForward.last_norm`); where SE
sits, the lean training tail, ``with_cp`` and drop path live here.
"""
import torch
import torch.nn as nn
import torch.utils.checkpoint as cp

from .lean_se import lean_tail, lean_tail_applies

# Where the SE layer sits in a residual block (Fig. 5, Table 14, Table 15).
SE_POSITIONS = ('standard', 'pre', 'post', 'identity', '3x3')

_NO_DROP_PATH = nn.Identity()


class SEResidualForward:
    """``relu(identity + F(x))`` with an SE layer ``self.se`` placed by
    ``self.se_position``.

    ``'standard'`` scales the residual branch before the sum; ``'pre'``
    scales the block input fed to the residual branch; ``'post'`` scales
    the block output after the sum and ReLU; ``'identity'`` scales the
    identity branch; ``'3x3'`` scales the 3x3 conv's output inside a
    bottleneck (Table 15; :meth:`residual` applies it). ``self.se`` None is
    the plain block.

    The block provides ``downsample`` (a module or None), ``relu`` (or
    :attr:`out_act`) and optionally ``drop_path`` (a module or None) and
    ``with_cp``.
    """

    def residual(self, x: torch.Tensor, norm: bool = True) -> torch.Tensor:
        """The residual branch F(x), without the SE layer's outer positions;
        ``norm=False`` stops before its last norm, :attr:`last_norm`."""
        raise NotImplementedError

    @property
    def last_norm(self) -> nn.Module:
        """The norm layer that ends the residual branch."""
        raise NotImplementedError

    @property
    def se_lean_ok(self) -> bool:
        """Whether the residual branch ends in :attr:`last_norm` (nothing
        between it and SE), as the lean tail needs."""
        return True

    @property
    def out_act(self) -> nn.Module:
        """The activation after the sum (``self.relu`` in OpenMMLab's and
        torchvision's blocks)."""
        return self.relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        se = self.se
        position = self.se_position if se is not None else None
        drop_path = getattr(self, 'drop_path', None)
        if isinstance(drop_path, nn.Identity):
            drop_path = None
        # Training at the standard position: last BN -> SE -> sum -> ReLU as
        # one autograd function that keeps no BN output (layers/lean_se.py).
        lean = (position == 'standard' and self.se_lean_ok
                and lean_tail_applies(se, self.last_norm, self.out_act,
                                      _NO_DROP_PATH if drop_path is None
                                      else drop_path))

        def _inner_forward(x):
            identity = x if self.downsample is None else self.downsample(x)
            if lean:
                return lean_tail(se, self.residual(x, norm=False),
                                 self.last_norm, identity, drop_path)
            if position == 'pre':
                x = se(x)
            out = self.residual(x)
            if position == 'standard':
                if drop_path is None:
                    # fused scale + sum, into `out` when autograd is off
                    return se(out, identity=identity, inplace=True)
                out = se(out)
            if drop_path is not None:
                out = drop_path(out)
            if position == 'identity':
                identity = se(identity)
            # In place, as the hosts: autograd keeps no copy of a BN output,
            # and on CPU a fresh block-sized buffer costs page faults.
            out += identity
            return out

        if getattr(self, 'with_cp', False) and x.requires_grad:
            out = cp.checkpoint(_inner_forward, x, use_reentrant=False)
        else:
            out = _inner_forward(x)
        if not lean:  # the lean tail ends in the ReLU
            out = self.out_act(out)
        if position == 'post':
            out = se(out)
        return out


class BasicResidual(SEResidualForward):
    """The residual branch of OpenMMLab's ``BasicBlock`` (mmpretrain, mmdet,
    mmseg alike): conv1, norm1, relu, conv2, norm2."""

    @property
    def last_norm(self) -> nn.Module:
        return self.norm2

    def residual(self, x: torch.Tensor, norm: bool = True) -> torch.Tensor:
        out = self.conv2(self.relu(self.norm1(self.conv1(x))))
        return self.norm2(out) if norm else out


class BottleneckResidual(SEResidualForward):
    """The residual branch of OpenMMLab's ``Bottleneck`` (mmpretrain, mmdet,
    mmseg; ResNeXt's too): conv1-3 with norm1-3, and mmcv plugins where
    mmdet's or mmseg's block has them (``plugins=``)."""

    @property
    def last_norm(self) -> nn.Module:
        return self.norm3

    @property
    def se_lean_ok(self) -> bool:
        # after_conv3 plugins sit between norm3 and SE
        return not (getattr(self, 'with_plugins', False)
                    and self.after_conv3_plugin_names)

    def residual(self, x: torch.Tensor, norm: bool = True) -> torch.Tensor:
        plugins = getattr(self, 'with_plugins', False)
        out = self.relu(self.norm1(self.conv1(x)))
        if plugins:
            out = self.forward_plugin(out, self.after_conv1_plugin_names)
        out = self.relu(self.norm2(self.conv2(out)))
        if plugins:
            out = self.forward_plugin(out, self.after_conv2_plugin_names)
        if self.se is not None and self.se_position == '3x3':
            out = self.se(out)
        out = self.conv3(out)
        if not norm:
            return out
        out = self.norm3(out)
        if plugins:
            out = self.forward_plugin(out, self.after_conv3_plugin_names)
        return out
