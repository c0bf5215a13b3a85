"""The SE-ResNet block tail for training, keeping no BN output.

The standard SE-ResNet block ends in ``relu(identity + y * s)`` with
``y = BN(x)`` and ``s = excite(mean(y))``. Autograd keeps ``y`` for the
gradient of ``s``: one block-sized tensor per block that the plain ResNet
frees (SE-ResNet-50 saves 1.24x ResNet-50's bytes, timm's and mmpretrain's
alike). :func:`lean_tail` runs the tail as one autograd function that keeps
what the plain block keeps anyway (``x``, the BN input, and the ReLU output)
plus the (N, C) pooled vector, and recomputes ``y`` from ``x`` and BN's
statistics in backward (in-place ABN's idea, Rota Bulo et al., 2018): one
elementwise pass. Forward values, gradients and BN running statistics are
those of the module-by-module reference.
"""
import contextlib
from typing import Optional, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmcv.cnn.bricks import DropPath

from .se_layer import SELayer, excite_pooled

DOUBLE_BACKWARD_ERROR = (
    "the lean SE tail (SELayer's default lean=True, se_plugin/models/layers/"
    'lean_se.py) has first-order gradients only, and this backward asks for '
    'their graph (create_graph=True: a double backward, e.g. a gradient '
    'penalty). Build the SE layers with lean=False, e.g. '
    "backbone=dict(type='se_plugin.SEResNet', ..., se_cfg=dict(lean=False)) "
    'or SELayer(channels, lean=False): autograd\'s own graph, differentiable '
    'twice')


def lean_tail_applies(se: SELayer, norm: nn.Module, act: nn.Module,
                      drop_path: nn.Module) -> bool:
    """Whether :func:`lean_tail` computes ``act(identity + drop_path(se(
    norm(x))))`` here; otherwise the caller runs its modules one by one.

    It does while autograd records, for SE's defaults (``lean``, ``fused``,
    average squeeze), ``nn.BatchNorm2d`` with affine terms, ReLU, and no or
    mmcv's per-sample drop path. Other norms (SyncBN, GN) keep the
    reference path, and so does ``torch.compile``, whose partitioner makes
    its own choice of what to keep for backward.
    """
    return (se.lean and se.fused and se.squeeze == 'avg'
            and torch.is_grad_enabled()
            and not torch.compiler.is_compiling()
            and type(norm) is nn.BatchNorm2d and norm.affine
            and type(act) is nn.ReLU
            and (type(drop_path) in (nn.Identity, DropPath)))


def lean_tail(se: SELayer, x: torch.Tensor, norm: nn.BatchNorm2d,
              identity: torch.Tensor,
              drop_path: Optional[nn.Module] = None) -> torch.Tensor:
    """``relu(identity + drop_path(y * se.excite(y)))`` with ``y = norm(x)``.

    Check :func:`lean_tail_applies` first.

    Args:
        se: The SE layer (average squeeze; any gate, with or without bias).
        x: The input of the residual branch's last BN, (N, C, H, W).
        norm: That BN; its running statistics update as in its forward.
        identity: The shortcut, the shape of ``x``.
        drop_path: mmcv's ``DropPath`` on the scaled branch, or None.

    Example:
        >>> se, bn = SELayer(64), nn.BatchNorm2d(64)
        >>> x = torch.randn(2, 64, 8, 8, requires_grad=True)
        >>> lean_tail(se, x, bn, torch.randn(2, 64, 8, 8)).shape
        torch.Size([2, 64, 8, 8])
    """
    keep = None
    if drop_path is not None:
        # mmcv's drop path scales each sample by 0 or 1 / keep_prob, drawn
        # as torch.rand((N, 1, 1, 1), dtype=x.dtype): the same draw on ones
        # is that factor, which joins the gate.
        ones = x.new_ones((x.shape[0], 1, 1, 1))
        keep = drop_path(ones)
        keep = None if keep is ones else keep
    return _LeanTail.apply(x, norm.weight, norm.bias, identity, keep,
                           se.fc1.weight, se.fc1.bias, se.fc2.weight,
                           se.fc2.bias, _bn_args(norm, x), se._gate_fn)


def _bn_args(bn: nn.BatchNorm2d, x: torch.Tensor) -> Tuple:
    """The running statistics, mode, averaging factor and eps that
    ``bn.forward`` hands ``F.batch_norm``, counting the batch as it does.

    A copy of ``_BatchNorm.forward``'s lines (torch/nn/modules/batchnorm.py):
    torch has no call that gives a BN's batch statistics with its output.
    """
    bn._check_input_dim(x)
    factor = 0.0 if bn.momentum is None else bn.momentum
    if (bn.training and bn.track_running_stats
            and bn.num_batches_tracked is not None):
        bn.num_batches_tracked.add_(1)
        if bn.momentum is None:  # cumulative moving average
            factor = 1.0 / float(bn.num_batches_tracked)
    batch_stats = bn.training or (bn.running_mean is None
                                  and bn.running_var is None)
    tracked = not bn.training or bn.track_running_stats
    return (bn.running_mean if tracked else None,
            bn.running_var if tracked else None, batch_stats, factor, bn.eps)


def _autocast_state(device_type: str) -> Optional[Tuple[str, torch.dtype]]:
    """Autocast's device and dtype where it is on, else None."""
    if (torch.amp.is_autocast_available(device_type)
            and torch.is_autocast_enabled(device_type)):
        return device_type, torch.get_autocast_dtype(device_type)
    return None


class _LeanTail(torch.autograd.Function):
    """relu(identity + BN(x) * gate(W2 relu(W1 mean(BN(x)))) * keep)."""

    @staticmethod
    def forward(ctx, x, weight, bias, identity, keep, w1, b1, w2, b2,
                bn_args, gate):
        running_mean, running_var, batch_stats, factor, eps = bn_args
        # The kernel F.batch_norm runs (same output, same running-stat
        # update), which also returns the batch mean and 1 / std.
        y, mean, invstd = torch.native_batch_norm(
            x, weight, bias, running_mean, running_var, batch_stats, factor,
            eps)
        # What backward normalises with: the batch's mean and 1 / std, or
        # the running mean and variance (copies: a later forward updates).
        stats = ((mean, invstd) if batch_stats else
                 (running_mean.clone(), running_var.clone()))
        # SELayer.excite on y (autocast, if on, applies here as there).
        z = y.mean((2, 3), dtype=torch.float32).to(y.dtype)
        scale = excite_pooled(z, w1, b1, w2, b2, gate)[..., None, None]
        if keep is not None:
            scale = scale * keep
        if identity.dtype == y.dtype == scale.dtype:
            out = torch.addcmul(identity, y, scale, out=y)  # y is not kept
        else:
            out = torch.addcmul(identity, y, scale)
        out = out.relu_()
        ctx.save_for_backward(x, weight, bias, out, z, *stats, keep, w1, b1,
                              w2, b2)
        ctx.batch_stats, ctx.eps, ctx.gate = batch_stats, eps, gate
        ctx.autocast = _autocast_state(x.device.type)
        return out

    @staticmethod
    def backward(ctx, grad):
        if torch.is_grad_enabled():
            # Autograd records a backward only for create_graph=True. torch's
            # @once_differentiable would raise a generic error later, or
            # drop this block's second-order terms when ``grad`` carries no
            # graph; say what to use instead, now.
            raise RuntimeError(DOUBLE_BACKWARD_ERROR)
        return _LeanTail._backward(ctx, grad)

    @staticmethod
    def _backward(ctx, grad):
        (x, weight, bias, out, z, mean, spread, keep, w1, b1, w2,
         b2) = ctx.saved_tensors
        batch_stats, eps = ctx.batch_stats, ctx.eps
        needs = ctx.needs_input_grad
        grad = torch.ops.aten.threshold_backward(grad, out, 0)  # ReLU's
        # y again, with the forward's statistics; batch ones as 1 / std,
        # whence var = std^2 - eps (exact up to rounding).
        var = spread.pow(-2) - eps if batch_stats else spread
        y = F.batch_norm(x, mean, var, weight, bias, False, 0., eps)
        params = [None if p is None else p.detach().requires_grad_(need)
                  for p, need in zip((w1, b1, w2, b2), needs[5:9])]
        autocast = (torch.autocast(*ctx.autocast) if ctx.autocast else
                    contextlib.nullcontext())
        with torch.enable_grad(), autocast:
            zg = z.detach().requires_grad_()
            s = excite_pooled(zg, *params, ctx.gate)
        scale = s.detach()[..., None, None]
        if keep is not None:
            scale = scale * keep
        grad_scale = (grad * y).sum((2, 3), keepdim=True)
        del y
        if keep is not None:
            grad_scale = grad_scale * keep
        trained = [p is not None and p.requires_grad for p in params]
        inputs = [zg] + [p for p, t in zip(params, trained) if t]
        grads = list(torch.autograd.grad(s, inputs, grad_scale.flatten(1)))
        grad_z = grads.pop(0)
        param_grads = [grads.pop(0) if t else None for t in trained]
        # The gradient of y: the scale's plus the mean's (in float32, as the
        # squeeze pools), summed in the reference's order and rounding.
        grad_pool = (grad_z.float() / (x.shape[2] * x.shape[3])).to(x.dtype)
        grad_y = grad * scale
        grad_y += grad_pool[..., None, None]
        grad_x, grad_w, grad_b = None, None, None
        if any(needs[:3]):  # BN's own backward
            running = (None, None) if batch_stats else (mean, spread)
            saved = (mean, spread) if batch_stats else (None, None)
            grad_x, grad_w, grad_b = (
                torch.ops.aten.native_batch_norm_backward(
                    grad_y, x, weight, *running, *saved, batch_stats, eps,
                    list(needs[:3])))
        grad_identity = grad if needs[3] else None
        return (grad_x, grad_w, grad_b, grad_identity, None, *param_grads,
                None, None)
