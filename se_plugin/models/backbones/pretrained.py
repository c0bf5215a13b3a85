"""A clear error for an ``init_cfg`` ``Pretrained`` prefix that the file
does not have.

mmengine 0.10.7's ``PretrainedInit`` with ``prefix`` stops at a bare
``AssertionError: backbone. is not in the pretrained model``: no file
name, no hint of what the file holds. mmengine offers no hook for the
message, so se_plugin's backbones catch exactly that assertion in their
own ``init_weights`` and raise :class:`PretrainedPrefixError` instead.
"""
from typing import List, Optional

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
