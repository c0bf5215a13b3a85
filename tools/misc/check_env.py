"""The self-check of tools/setup_env.sh: is .venv/ what it set up?

    python tools/misc/check_env.py [--detectron2] PIN_OR_FILE ...

Each argument is a pin (``mmcv==2.1.0``) or a requirements file of pins.
Checks, in order, and exits 1 naming what is wrong:

- every pinned distribution is installed at its pinned version (a local
  build tag such as ``+cpu`` aside);
- ``transformers`` is absent (``import mmpretrain.models`` breaks with it);
- mmcv's compiled ops run (``nms`` on three boxes);
- mmdet, mmpretrain's models and se_plugin import (with ``--detectron2``,
  se_plugin.detectron2 too).

The pins belong to this set-up only: se_plugin itself runs on any stack
that setup.py's ``install_requires`` allows, and its tests do not check
versions. Standard library, then torch and mmcv: it runs before se_plugin
is known to import.
"""
import argparse
import importlib.metadata
import importlib.util
import re
import sys
from typing import Dict, Iterable, List, Mapping

PIN = re.compile(r'^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;#]+)$')


def read_pins(args: Iterable[str]) -> Dict[str, str]:
    """``{name: version}`` of pins and of the pins in requirements files.

    Args:
        args: ``name==version`` strings or paths of requirements files
            (one pin a line; blank lines and ``#`` comments ignored).

    Raises:
        ValueError: for a line or argument that is not ``name==version``,
            naming it (and the file and line number).
    """
    pins = {}
    for arg in args:
        if '==' in arg:
            lines = [(arg, arg)]
        else:
            with open(arg) as f:
                lines = [(f'{arg}:{i}', line.split('#')[0].strip())
                         for i, line in enumerate(f, 1)]
        for where, line in lines:
            if not line:
                continue
            match = PIN.match(line)
            if not match:
                raise ValueError(f'{where}: {line!r} is not a pin '
                                 '(name==version)')
            pins[match.group(1)] = match.group(2)
    return pins


def wrong_versions(pins: Mapping[str, str],
                   installed: Mapping[str, str]) -> List[str]:
    """``'name have (pinned want)'`` for each pin that ``installed`` (name:
    version, or no entry when missing) does not meet; local build tags
    (``2.14.1+cu130``) aside."""
    wrong = []
    for name, want in sorted(pins.items()):
        have = installed.get(name)
        if have is None:
            wrong.append(f'{name} missing (pinned {want})')
        elif have.split('+')[0] != want.split('+')[0]:
            wrong.append(f'{name} {have} (pinned {want})')
    return wrong


def installed_versions(names: Iterable[str]) -> Dict[str, str]:
    """The installed version of each of ``names`` that is installed."""
    found = {}
    for name in names:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            pass
    return found


def check(pins: Mapping[str, str], detectron2: bool = False) -> List[str]:
    """What is wrong with this environment (empty: nothing)."""
    problems = [
        'not the pinned version: ' + w
        for w in wrong_versions(pins, installed_versions(pins))
    ]
    if importlib.util.find_spec('transformers') is not None:
        problems.append('transformers is installed; import mmpretrain.models '
                        'fails with it: pip uninstall transformers')
    if problems:  # imports of a wrong stack would only add noise
        return problems
    import torch
    from mmcv.ops import nms
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.],
                          [20., 20., 30., 30.]])
    _, keep = nms(boxes, torch.tensor([0.9, 0.8, 0.7]), iou_threshold=0.5)
    if keep.tolist() != [0, 2]:
        problems.append(f"mmcv's compiled nms kept boxes {keep.tolist()} of "
                        'three, not [0, 2]')
    import mmdet  # noqa: F401
    import mmpretrain.models  # noqa: F401

    import se_plugin  # noqa: F401
    if detectron2:
        import se_plugin.detectron2  # noqa: F401
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('pins', nargs='+', help='name==version or a file')
    parser.add_argument('--detectron2', action='store_true')
    args = parser.parse_args()
    try:
        pins = read_pins(args.pins)
    except (OSError, ValueError) as err:
        print(f'[setup_env] {err}', file=sys.stderr)
        return 1
    problems = check(pins, args.detectron2)
    for problem in problems:
        print(f'[setup_env] {problem}', file=sys.stderr)
    return 1 if problems else 0


if __name__ == '__main__':
    sys.exit(main())
