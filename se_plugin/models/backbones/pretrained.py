"""Pretrained weights for se_plugin's backbones: two gaps of the hosts.

1. A clear error for an ``init_cfg`` ``Pretrained`` prefix that the file
   does not have. mmengine 0.10.7's ``PretrainedInit`` with ``prefix``
   stops at a bare ``AssertionError: backbone. is not in the pretrained
   model``: no file name, no hint of what the file holds. mmengine offers
   no hook for the message, so se_plugin's backbones catch exactly that
   assertion in their own ``init_weights`` (:class:`NamedPrefixMixin`) and
   raise :class:`PretrainedPrefixError` instead.
2. The ``pretrained=`` argument of mmseg's (and mmdet 2.x's) backbones.
   mmseg's zoo configs set ``model.pretrained`` (``_base_/models/
   pspnet_r50-d8.py``: ``'open-mmlab://resnet50_v1c'``), and mmseg's
   ``EncoderDecoder`` hands it to the backbone as ``backbone.pretrained``.
   mmseg's own backbones take it as a deprecated spelling of
   ``init_cfg=dict(type='Pretrained', checkpoint=...)`` (mmseg 1.2.2,
   ``mmseg/models/backbones/resnet.py``); mmpretrain's, which ours build
   on, take no such argument. :func:`accepts_pretrained` gives every
   se_plugin backbone mmseg's rules, in one place.
"""
import functools
import warnings
from typing import List, Optional, Union

from mmengine.runner.checkpoint import CheckpointLoader


class PretrainedPrefixError(KeyError):
    """An ``init_cfg`` ``Pretrained`` prefix that is not in its file."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


def key_prefixes(checkpoint: str) -> List[str]:
    """The first components (``'backbone.'``, ``'head.'``, ...) of the
    weights' names in ``checkpoint`` (its ``state_dict`` if it has one)."""
    loaded = CheckpointLoader.load_checkpoint(checkpoint, map_location='cpu')
    state = loaded.get('state_dict', loaded)
    return sorted({k.split('.')[0] + '.' for k in state if '.' in k})


def prefix_error(init_cfg, error: AssertionError
                 ) -> Optional[PretrainedPrefixError]:
    """The :class:`PretrainedPrefixError` for mmengine's assertion
    ``error`` raised by ``init_cfg``, or None if it is another one."""
    cfgs = init_cfg if isinstance(init_cfg, list) else [init_cfg]
    for cfg in cfgs:
        if not isinstance(cfg, dict) or cfg.get('type') != 'Pretrained' or \
                cfg.get('prefix') is None:
            continue
        prefix = cfg['prefix']
        dotted = prefix if prefix.endswith('.') else prefix + '.'
        if str(error) != f'{dotted} is not in the pretrained model':
            continue
        checkpoint = cfg['checkpoint']
        found = key_prefixes(checkpoint)
        return PretrainedPrefixError(
            f'init_cfg Pretrained: prefix {prefix!r} is not in checkpoint '
            f'{checkpoint}; its weights start with '
            f'{", ".join(found[:10]) or "nothing"}: set prefix to one of '
            'them, or prefix=None for a file of this module alone')
    return None


class NamedPrefixMixin:
    """``init_weights`` that names the file and the prefix when an
    ``init_cfg`` ``Pretrained`` prefix is absent from the file."""

    def init_weights(self) -> None:
        """Initialize as the host does (:meth:`BaseModule.init_weights`).

        Raises:
            PretrainedPrefixError: ``init_cfg`` is ``Pretrained`` with a
                ``prefix`` that no weight in its checkpoint starts with.
        """
        try:
            super().init_weights()
        except AssertionError as e:
            error = prefix_error(getattr(self, 'init_cfg', None), e)
            if error is None:
                raise
            raise error from None


def pretrained_init_cfg(pretrained: Optional[str],
                        init_cfg: Optional[Union[dict, list]]
                        ) -> Optional[Union[dict, list]]:
    """The ``init_cfg`` that mmseg's backbones make of ``pretrained``.

    Args:
        pretrained: A checkpoint path or URL, or None.
        init_cfg: The ``init_cfg`` given beside it, or None.

    Returns:
        ``init_cfg`` when ``pretrained`` is None, else
        ``dict(type='Pretrained', checkpoint=pretrained)`` (with a
        deprecation warning, as mmseg's).

    Raises:
        TypeError: ``pretrained`` is neither a str nor None.
        ValueError: Both are set (mmseg asserts).

    Example:
        >>> pretrained_init_cfg('r50.pth', None)
        {'type': 'Pretrained', 'checkpoint': 'r50.pth'}
    """
    if pretrained is None:
        return init_cfg
    if not isinstance(pretrained, str):
        raise TypeError('pretrained must be a checkpoint path or URL (str) '
                        f'or None, got {pretrained!r}')
    if init_cfg:
        raise ValueError(
            f'pretrained ({pretrained!r}) and init_cfg ({init_cfg!r}) are '
            'both set; keep one: model.pretrained=None (mmseg passes the '
            "model's pretrained to the backbone) keeps init_cfg, or drop "
            'init_cfg to load pretrained')
    warnings.warn(
        f'pretrained={pretrained!r} is deprecated, as in mmseg: loading it as '
        f'init_cfg=dict(type=\'Pretrained\', checkpoint={pretrained!r}); set '
        'model.pretrained=None to start from init_cfg instead',
        stacklevel=3)
    return dict(type='Pretrained', checkpoint=pretrained)


def accepts_pretrained(cls: type) -> type:
    """Class decorator: the backbone's ``__init__`` also takes mmseg's
    ``pretrained=`` (:func:`pretrained_init_cfg`) and passes everything
    else on unchanged.

    Example:
        >>> @accepts_pretrained
        ... class Backbone(BaseModule):
        ...     pass
        >>> Backbone(pretrained='r50.pth').init_cfg
        {'type': 'Pretrained', 'checkpoint': 'r50.pth'}
    """
    init = cls.__init__

    @functools.wraps(init)
    def __init__(self, *args, pretrained: Optional[str] = None,
                 **kwargs) -> None:
        if pretrained is not None:
            kwargs['init_cfg'] = pretrained_init_cfg(pretrained,
                                                     kwargs.get('init_cfg'))
        init(self, *args, **kwargs)

    cls.__init__ = __init__
    return cls
