"""Argument checks for the command-line tools under ``tools/``.

A bad command line ends as argparse ends it (``parser.error``): the line
``PROG: error: MESSAGE`` naming the argument, and exit status 2, never a
traceback. The ``type=`` functions below check a value while argparse
parses it (argparse adds the usage and ``argument NAME:``); what only the
config or the data can show (a class name the dataset lacks, a flag the
config has no setting for) is a :class:`UsageError`, which a main wrapped
in :func:`exits_on_usage_error` reports the same way.
"""
import argparse
import functools
import os.path as osp
import sys
from typing import Callable, NoReturn, Optional, Sequence, TypeVar, Union

from mmengine.config import DictAction as MMEngineDictAction

from .checkpoint_errors import CheckpointError

T = TypeVar('T')


class UsageError(ValueError):
    """A bad command-line argument found after parsing; the message names
    the argument and what it allows."""


class DictAction(MMEngineDictAction):
    """mmengine's ``DictAction`` (``--cfg-options k=v ...``), where an item
    without ``=`` is argparse's error naming the option, not a traceback
    from unpacking inside mmengine."""

    def __call__(self,
                 parser: argparse.ArgumentParser,
                 namespace: argparse.Namespace,
                 values: Union[str, Sequence[str], None],
                 option_string: Optional[str] = None) -> None:
        items = [values] if isinstance(values, str) else values or ()
        for item in items:
            if '=' not in item:
                raise argparse.ArgumentError(
                    self, f'expected KEY=VALUE items, got {item!r}')
        super().__call__(parser, namespace, values, option_string)


def existing_file(path: str) -> str:
    """argparse ``type=``: a path to an existing file.

    Example:
        >>> parser.add_argument('config', type=existing_file)
        # error: argument config: no such file: cfg.py
    """
    if not osp.isfile(path):
        raise argparse.ArgumentTypeError(
            f'{path} is a folder, not a file' if osp.isdir(path) else
            f'no such file: {path}')
    return path


def _int(text: str, least: int) -> int:
    try:
        value = int(text)
    except ValueError:
        value = None
    if value is None or value < least:
        raise argparse.ArgumentTypeError(
            f'must be an integer >= {least}, got {text!r}')
    return value


def positive_int(text: str) -> int:
    """argparse ``type=``: an integer >= 1."""
    return _int(text, 1)


def nonnegative_int(text: str) -> int:
    """argparse ``type=``: an integer >= 0."""
    return _int(text, 0)


def unit_float(text: str) -> float:
    """argparse ``type=``: a number from 0 to 1 (a score or a share)."""
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(
            f'must be a number from 0 to 1, got {text!r}')
    return value


def figure_file(path: str) -> str:
    """argparse ``type=``: an image path whose extension matplotlib writes
    (png, svg, pdf, ...), checked before any work is done."""
    from matplotlib.backend_bases import FigureCanvasBase
    formats = FigureCanvasBase.get_supported_filetypes()
    ext = osp.splitext(path)[1].lower().lstrip('.')
    if ext not in formats:
        raise argparse.ArgumentTypeError(
            f'{path}: matplotlib writes {", ".join(sorted(formats))}, not '
            f'{ext or "a file without extension"}')
    return path


def error_exit(message: str, status: int = 2) -> NoReturn:
    """Exit as argparse's ``parser.error`` does: ``PROG: error: MESSAGE``
    on stderr, PROG being argparse's default (the script's name).

    Args:
        message: What is wrong, naming the argument or file.
        status: The exit status: 2 for a bad command line, as argparse.
    """
    prog = osp.basename(sys.argv[0]) if sys.argv and sys.argv[0] else 'tool'
    sys.stderr.write(f'{prog}: error: {message}\n')
    sys.exit(status)


def exits_on_usage_error(main: Callable[..., T]) -> Callable[..., T]:
    """Decorate a tool's ``main``: a :class:`UsageError` exits with status
    2 and a :class:`~se_plugin.utils.checkpoint_errors.CheckpointError` (a
    checkpoint that does not load; the message names the file and why)
    with status 1, each as one line (:func:`error_exit`). Any other
    exception keeps its traceback: it is a bug, not a bad argument."""

    @functools.wraps(main)
    def wrapper(*args, **kwargs) -> T:
        try:
            return main(*args, **kwargs)
        except UsageError as e:
            error_exit(str(e), 2)
        except CheckpointError as e:
            error_exit(str(e), 1)

    return wrapper
