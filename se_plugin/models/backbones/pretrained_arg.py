"""The ``pretrained=`` argument of mmseg's (and mmdet 2.x's) backbones.

mmseg's zoo configs set ``model.pretrained`` (``_base_/models/
pspnet_r50-d8.py``: ``'open-mmlab://resnet50_v1c'``), and mmseg's
``EncoderDecoder`` hands it to the backbone as ``backbone.pretrained``.
mmseg's own backbones take it as a deprecated spelling of
``init_cfg=dict(type='Pretrained', checkpoint=...)`` (mmseg 1.2.2,
``mmseg/models/backbones/resnet.py``); mmpretrain's, which ours build on,
take no such argument. :func:`accepts_pretrained` gives every se_plugin
backbone mmseg's rules, in one place.
"""
import functools
import warnings
from typing import Optional, Union


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
