"""One-line reasons why a checkpoint file did not load.

torch's errors for a bad checkpoint are long and never name the file
("PytorchStreamReader failed reading zip archive", "Weights only load
failed ... Unsupported operand 149", a bare ``EOFError``). mmengine passes
them on through the runner (``load_from``, ``resume``) and ``init_cfg``
``Pretrained``. :func:`describe_checkpoint_error` turns one into a line that
names the file and says which of these it is:

- ``missing``: no such file;
- ``truncated or corrupt``: an empty file, a torch zip archive that does
  not open or fails its CRC check, a pickle that ends early;
- ``not a checkpoint``: neither a torch zip archive nor a pickle, or a
  file that holds no dict of weights;
- ``refused by the weights-only loader``: the pickle needs a class or
  function that ``torch.load(weights_only=True)`` does not allow, i.e.
  code would run.

:func:`se_plugin.compat.named_checkpoint_errors` (switched on by
:func:`se_plugin.setup`, which our tools call) raises them from every
mmengine checkpoint load.
"""
import os.path as osp
import pickle
import re
import sys
import zipfile
from typing import Optional, Tuple

ZIP_MAGIC = b'PK\x03\x04'
# "GLOBAL posix.system whose module ..." / "Unsupported global: GLOBAL x.y"
_GLOBAL = re.compile(r'GLOBAL (\S+?)(?: whose| was not|$)', re.M)
_OPERAND = re.compile(r'Unsupported operand (\d+)')


class CheckpointError(Exception):
    """A checkpoint that cannot be loaded; the message names the file and
    says why (the ``kind`` attribute: one of the module docstring's)."""

    def __init__(self, message: str, kind: str = 'unreadable') -> None:
        super().__init__(message)
        self.kind = kind


# Subclasses keep the host's exception types, so code that catches those
# (and tests of the host's behaviour) still works.
class CheckpointNotFoundError(CheckpointError, FileNotFoundError):
    """A checkpoint path that does not exist."""


class CheckpointRefusedError(CheckpointError, pickle.UnpicklingError):
    """A checkpoint that the weights-only loader refuses."""


class CheckpointCorruptError(CheckpointError, RuntimeError):
    """A truncated or corrupt checkpoint, or a file that is not one."""


def _first_line(error: BaseException, limit: int = 160) -> str:
    text = str(error).strip().splitlines()
    return f'{type(error).__name__}: {text[0][:limit] if text else ""}'


def _known_missing_global(name: str) -> bool:
    """True if ``name`` is ``module.attr`` of an imported module that has
    no such attribute: a pickle cut or scrambled mid-name, not code."""
    module, _, attr = name.rpartition('.')
    return module in sys.modules and not hasattr(sys.modules[module], attr)


def _zip_problem(path: str) -> Optional[str]:
    """Why a torch zip archive is broken, or None if it reads whole."""
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()  # reads every member, checks its CRC
    except zipfile.BadZipFile as e:
        return f'the zip archive does not open ({e}; an interrupted save ' \
            'or copy?)'
    except Exception as e:  # zlib errors on scrambled data
        return f'the zip archive does not read ({_first_line(e)})'
    return f'member {bad} fails its CRC check' if bad else None


def checkpoint_problem(path: str,
                       error: BaseException) -> Tuple[str, str]:
    """(kind, detail) of a failed load of ``path``: kind is ``'missing'``,
    ``'truncated or corrupt'``, ``'not a checkpoint'``, ``'refused by the
    weights-only loader'`` or (a URL whose error says nothing more)
    ``'unreadable'``; detail says what was seen.

    Args:
        path: The checkpoint file, URL or scheme name.
        error: What the load raised.
    """
    message = str(error)
    if re.match(r'[\w+.-]+://', path):  # URL or scheme: no file to look at
        if isinstance(error, FileNotFoundError):
            return 'missing', _first_line(error)
        found = _GLOBAL.search(message)
        if found and 'Weights only' in message:
            return 'refused by the weights-only loader', \
                f'it needs {found.group(1)}'
        return 'unreadable', _first_line(error)
    if isinstance(error, IsADirectoryError) or osp.isdir(path):
        return 'not a checkpoint', 'it is a directory'
    if isinstance(error, FileNotFoundError) or not osp.exists(path):
        return 'missing', 'no such file'
    if not osp.isfile(path):
        return 'unreadable', _first_line(error)
    size = osp.getsize(path)
    if size == 0:
        return 'truncated or corrupt', 'the file is empty (0 bytes)'
    with open(path, 'rb') as f:
        head = f.read(16)
    if path.endswith('.safetensors'):
        if 'Incomplete' in message or 'EOF' in message:
            return 'truncated or corrupt', f'safetensors: {_first_line(error)}'
        return 'not a checkpoint', f'not a safetensors file ' \
            f'({_first_line(error)})'
    if head.startswith(ZIP_MAGIC):
        broken = _zip_problem(path)
        if broken:
            return 'truncated or corrupt', broken
    elif not head.startswith(b'\x80'):  # every pickle protocol >= 2
        return 'not a checkpoint', (
            f'it starts with {head[:8]!r}; torch.save writes a zip archive '
            '(or, before torch 1.6, a pickle)')
    if isinstance(error, (EOFError, pickle.UnpicklingError)) and (
            'truncated' in message or 'Ran out of input' in message
            or isinstance(error, EOFError)):
        return 'truncated or corrupt', 'the pickle ends early ' \
            f'({size} bytes)'
    found = _GLOBAL.search(message)
    if found:
        name = found.group(1)
        if not re.fullmatch(r'[A-Za-z_][\w.]*', name) or \
                _known_missing_global(name):
            return 'truncated or corrupt', f'the pickle names {name!r}, ' \
                'which no module defines'
        return 'refused by the weights-only loader', (
            f'it needs {name}, which is not an allowed plain data type '
            '(loading it would run code from the file)')
    operand = _OPERAND.search(message)
    if operand:
        return 'not a checkpoint', (
            'a pickle that torch.save did not write (the weights-only '
            f'loader does not know its opcode {operand.group(1)})')
    return 'truncated or corrupt', _first_line(error)


def describe_checkpoint_error(path: str, error: BaseException) -> str:
    """The one-line reason why ``path`` did not load.

    Args:
        path: The checkpoint file (or URL / scheme name: then only the
            error is classified).
        error: What the load raised.

    Example:
        >>> describe_checkpoint_error('x.pth', FileNotFoundError())
        'checkpoint x.pth: missing: no such file'
    """
    kind, detail = checkpoint_problem(path, error)
    return f'checkpoint {path}: {kind}: {detail}'


def checkpoint_error(path: str, error: BaseException) -> CheckpointError:
    """A :class:`CheckpointError` of the matching subclass for ``error``."""
    kind, detail = checkpoint_problem(path, error)
    cls = {
        'missing': CheckpointNotFoundError,
        'refused by the weights-only loader': CheckpointRefusedError,
    }.get(kind, CheckpointCorruptError)
    return cls(f'checkpoint {path}: {kind}: {detail}', kind)


def not_a_checkpoint(checkpoint) -> Optional[str]:
    """Why a loaded object is not a checkpoint (no dict, or a dict without
    tensors), or None if it is one."""
    if not isinstance(checkpoint, dict):
        return f'it holds a {type(checkpoint).__name__}, not a dict of weights'
    values = list(checkpoint.values())
    values += [v for d in values if isinstance(d, dict) for v in d.values()]
    if not any(hasattr(v, 'shape') for v in values):
        return f'its dict (keys {sorted(map(str, checkpoint))[:5]}) holds ' \
            'no tensors'
    return None
