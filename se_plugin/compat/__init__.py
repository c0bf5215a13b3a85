"""Fixes for host defects, each switched on explicitly, never by import.

``import se_plugin`` only registers (modules, datasets, hooks, metrics and
the ``timm://``/``mmpretrain://`` checkpoint schemes through mmengine's
public ``CheckpointLoader.register_scheme``). Every change to how mmengine
or torch behave lives here, one function per host defect:

- :func:`resumable_checkpoints` (mmengine 0.10.7 with torch >= 2.6):
  replaces ``HistoryBuffer.__getstate__`` and adds to torch's safe globals;
- :func:`named_checkpoint_errors` (mmengine 0.10.7): wraps
  ``CheckpointLoader.load_checkpoint``;
- :func:`se_plugin_bases` (mmengine 0.10.7): wraps the private
  ``Config._get_cfg_path``.

Why each, and why no public host API does it:

- :func:`resumable_checkpoints`: torch >= 2.6 loads with
  ``weights_only=True`` by default and mmengine 0.10.7 calls ``torch.load``
  without choosing, so mmengine cannot resume its own checkpoints: their
  message hub holds ``HistoryBuffer`` objects (not on torch's allowlist)
  which pickle references to their statistics functions
  (``getattr(HistoryBuffer, 'mean')``: a call a weights-only load must
  refuse). Allowlisting uses torch's public ``add_safe_globals``; mmengine
  has no public way to choose what a ``HistoryBuffer`` pickles, so its
  ``__getstate__`` is replaced.
- :func:`named_checkpoint_errors`: a failed load raises torch's error
  ("PytorchStreamReader failed reading zip archive", a bare ``EOFError``)
  without the file's name, through ``load_from``, ``resume`` and
  ``init_cfg``. mmengine has no public hook around every load
  (``register_scheme`` replaces one prefix's loader, not the call all
  loaders go through), so the public ``CheckpointLoader.load_checkpoint``
  is wrapped.
- :func:`se_plugin_bases`: mmengine 0.10.7 resolves ``_base_ = 'pkg::PATH'``
  only for the packages in its fixed ``MODULE2PACKAGE`` table, only for a
  PATH in a folder, through ``pkg_resources`` (no configs in an editable
  install) and gives the base's objects ``_scope_=pkg``; there is no public
  way to add a package, so the private ``Config._get_cfg_path`` is wrapped.
  From other projects' tools, without this, use
  ``_base_ = __import__('se_plugin').config_path('NAME.py')``
  (:func:`se_plugin.config_path`), which mmengine evaluates itself.

Each fix has a test in ``tests/test_compat.py`` that fails once the host
fixes the defect itself: then the fix goes.

Switch them on with :func:`setup` (our tools do), or from a config of
another project's tools with
``custom_imports=dict(imports=['se_plugin', 'se_plugin.compat.enable'])``
(mmengine imports it after it has resolved the config's bases, so such a
config inherits ours with :func:`se_plugin.config_path`, not
``se_plugin::``).
"""
import functools
from typing import Any, Dict, List, Optional, Tuple

import numpy as np
import torch

try:
    from numpy._core import multiarray  # numpy >= 2 (a shim on 1.26)
except ImportError:
    from numpy.core import multiarray

from mmengine.config import Config
from mmengine.logging import HistoryBuffer, MMLogger
from mmengine.runner.checkpoint import CheckpointLoader

from se_plugin.utils.checkpoint_errors import (CheckpointCorruptError,
                                               CheckpointError,
                                               checkpoint_error,
                                               not_a_checkpoint)
from se_plugin.utils.mim import PREFIX, config_path

__all__ = [
    'checkpoint_globals', 'enabled', 'named_checkpoint_errors',
    'resumable_checkpoints', 'se_plugin_bases', 'setup'
]

# What each fix replaced, as the host had it (class, attribute, the class
# dict's entry): tests put it back to check that the host's own behaviour
# still has the defect.
HOST: Dict[str, Tuple[type, str, Any]] = {}


def _replace(cls: type, name: str, new: Any) -> None:
    """Set ``cls.name`` to ``new``, recording the host's entry in
    :data:`HOST`."""
    HOST[f'{cls.__name__}.{name}'] = (cls, name, cls.__dict__[name])
    setattr(cls, name, new)


def checkpoint_globals() -> List:
    """What mmengine training checkpoints need beyond torch's weights-only
    allowlist: ``HistoryBuffer`` and numpy's array and scalar
    reconstructors and dtypes (data, no code). Pass them to
    ``torch.serialization.safe_globals(...)`` to read one checkpoint
    without changing the process."""
    reconstruct = multiarray._reconstruct
    scalar = multiarray.scalar
    found = [HistoryBuffer, reconstruct, scalar, np.ndarray, np.dtype]
    # Pickles name these by the module they were written under:
    # numpy.core (numpy 1.x) or numpy._core (numpy 2.x).
    for module in ('numpy.core.multiarray', 'numpy._core.multiarray'):
        found += [(reconstruct, f'{module}._reconstruct'),
                  (scalar, f'{module}.scalar')]
    # numpy 1.25+ dtype classes (e.g. UInt32DType of numpy's RNG state).
    found += [
        type(np.dtype(t)) for t in (np.bool_, np.int8, np.int16, np.int32,
                                    np.int64, np.uint8, np.uint16, np.uint32,
                                    np.uint64, np.float16, np.float32,
                                    np.float64)
    ]
    return found


def _history_buffer_state(self) -> dict:
    # The host pickles ``_statistics_methods`` (functions) with the data.
    # They are class-level registrations that mmengine re-creates on
    # import, so the checkpoint needs only the data; the host's
    # ``__setstate__`` tolerates the missing key.
    return {
        k: v
        for k, v in self.__dict__.items() if k != 'statistics_methods'
    }


def resumable_checkpoints() -> None:
    """Let mmengine 0.10.7 save checkpoints that torch >= 2.6 loads
    weights-only, and load them (``resume``, ``load_from``): allowlists
    :func:`checkpoint_globals` and stops ``HistoryBuffer`` pickling
    function references. Every other pickle still loads weights-only.
    Idempotent.

    For mmengine 0.10.7 with torch >= 2.6 (pinned by
    ``tests/test_compat.py::test_host_cannot_resume_its_own_checkpoint``).
    """
    if 'HistoryBuffer.__getstate__' not in HOST:
        _replace(HistoryBuffer, '__getstate__', _history_buffer_state)
    torch.serialization.add_safe_globals(checkpoint_globals())


def named_checkpoint_errors() -> None:
    """Make every mmengine checkpoint load that fails say which file and
    why, in one line.

    Wraps ``CheckpointLoader.load_checkpoint``: on failure it logs the line
    of :func:`se_plugin.utils.checkpoint_errors.describe_checkpoint_error`
    at ERROR level (before any traceback) and raises it as a
    :class:`~se_plugin.utils.checkpoint_errors.CheckpointError`, a subclass
    of the host's exception type (``FileNotFoundError``,
    ``pickle.UnpicklingError`` or ``RuntimeError``); a file that loads but
    holds no dict of tensors fails the same way. Idempotent.

    For mmengine 0.10.7 (pinned by ``tests/test_compat.py::
    test_host_checkpoint_errors_do_not_name_the_file``).
    """
    if 'CheckpointLoader.load_checkpoint' in HOST:
        return
    original = CheckpointLoader.__dict__['load_checkpoint'].__func__

    @functools.wraps(original)
    def load_checkpoint(cls, filename, map_location=None, logger='current'):
        try:
            checkpoint = original(cls, filename, map_location, logger)
        except CheckpointError:
            raise
        except Exception as e:
            error = checkpoint_error(str(filename), e)
        else:
            reason = not_a_checkpoint(checkpoint)
            if reason is None:
                return checkpoint
            error = CheckpointCorruptError(
                f'checkpoint {filename}: not a checkpoint: {reason}',
                'not a checkpoint')
        MMLogger.get_current_instance().error(str(error))
        # The host's exception is summed up in the message: chaining it
        # would print its 40 lines again after ours.
        raise error from None

    _replace(CheckpointLoader, 'load_checkpoint',
             classmethod(load_checkpoint))


def se_plugin_bases() -> None:
    """Make ``Config.fromfile`` resolve ``_base_ = 'se_plugin::PATH'`` to
    se_plugin's configs (:func:`se_plugin.config_path`), whose objects
    keep the scopes they name themselves; every other path goes to
    mmengine unchanged. Idempotent.

    For mmengine 0.10.7 (pinned by
    ``tests/test_compat.py::test_host_refuses_se_plugin_bases``).
    """
    if 'Config._get_cfg_path' in HOST:
        return
    original = Config.__dict__['_get_cfg_path'].__func__

    def _get_cfg_path(cfg_path: str,
                      filename: str) -> Tuple[str, Optional[str]]:
        if cfg_path.startswith(PREFIX):
            # Scope None: the base keeps the scopes it names itself.
            return config_path(cfg_path[len(PREFIX):]), None
        return original(cfg_path, filename)

    _replace(Config, '_get_cfg_path', staticmethod(_get_cfg_path))


FIXES = (resumable_checkpoints, named_checkpoint_errors, se_plugin_bases)


def setup() -> None:
    """Switch on every fix of this module (idempotent).

    ``import se_plugin`` changes nothing in mmengine, mmcv or torch; our
    tools call this first. Call it in your own scripts for resumable
    weights-only checkpoints on torch >= 2.6, checkpoint errors that name
    the file, and ``_base_ = 'se_plugin::PATH'``.

    Example:
        >>> import se_plugin
        >>> se_plugin.setup()
        >>> se_plugin.compat.enabled()
        ['resumable_checkpoints', 'named_checkpoint_errors', 'se_plugin_bases']
    """
    for fix in FIXES:
        fix()


def enabled() -> List[str]:
    """The names of the fixes switched on in this process."""
    keys = {
        resumable_checkpoints: 'HistoryBuffer.__getstate__',
        named_checkpoint_errors: 'CheckpointLoader.load_checkpoint',
        se_plugin_bases: 'Config._get_cfg_path',
    }
    return [fix.__name__ for fix in FIXES if keys[fix] in HOST]
