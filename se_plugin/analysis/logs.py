"""Training curves from mmengine's scalar logs (``vis_data/scalars.json``).

mmengine's LocalVisBackend writes one json object per logged step into
``WORK_DIR/<timestamp>/vis_data/scalars.json``: training lines carry
``iter`` and ``step`` (the iteration), validation lines of an epoch-based
loop carry ``step`` (the epoch). A resumed run is a second timestamp folder
of the same work dir; its lines replace the first run's at the same steps.
"""
import glob
import json
import os.path as osp
from typing import Dict, List, NamedTuple, Sequence


class Curve(NamedTuple):
    """One logged key of one run: ``steps``, ``values`` and what a step
    is (``'iter'`` for training lines, ``'epoch'`` for validation)."""
    key: str
    unit: str
    steps: List[int]
    values: List[float]


def scalar_files(path: str) -> List[str]:
    """The ``scalars.json`` files of a work dir (every run in it, oldest
    first), of one run's folder, or ``path`` itself if it is one."""
    if osp.isfile(path):
        return [path]
    files = sorted(glob.glob(osp.join(path, '*', 'vis_data', 'scalars.json')))
    files += glob.glob(osp.join(path, 'vis_data', 'scalars.json'))
    if not files:
        raise FileNotFoundError(
            f'{path}: no vis_data/scalars.json in it or in a run folder '
            'under it (mmengine writes them with LocalVisBackend)')
    return files


def load_curves(path: str, keys: Sequence[str]) -> Dict[str, Curve]:
    """Each of ``keys`` as logged in ``path`` (see :func:`scalar_files`).

    Raises ValueError naming the keys the log has when one is missing.
    """
    per_key: Dict[str, Dict[int, float]] = {k: {} for k in keys}
    units: Dict[str, str] = {}
    logged = set()
    for file in scalar_files(path):
        with open(file) as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError as e:
                    raise ValueError(f'{file}, line {n}: not json ({e})')
                logged.update(row)
                for key in keys:
                    if key in row:
                        per_key[key][int(row['step'])] = float(row[key])
                        units[key] = 'iter' if 'iter' in row else 'epoch'
    missing = [k for k in keys if not per_key[k]]
    if missing:
        known = sorted(logged - {'step', 'epoch', 'iter'})
        raise ValueError(f'{path}: {missing} never logged; logged keys: '
                         f'{known}')
    return {
        k: Curve(k, units[k], sorted(v), [v[s] for s in sorted(v)])
        for k, v in per_key.items()
    }


def plot_curves(runs: Dict[str, Dict[str, Curve]], keys: Sequence[str]):
    """One panel per key, one line per run (``{label: load_curves(...)}``).
    Returns the matplotlib figure."""
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(
        1, len(keys), figsize=(4 * len(keys), 3), squeeze=False)
    for ax, key in zip(axes[0], keys):
        for label, curves in runs.items():
            curve = curves[key]
            ax.plot(curve.steps, curve.values, marker='.' if len(
                curve.steps) < 30 else None, label=label)
        ax.set_xlabel(next(iter(runs.values()))[key].unit)
        ax.set_title(key)
        ax.grid(alpha=0.3)
    axes[0, -1].legend(fontsize=8)
    fig.tight_layout()
    return fig
