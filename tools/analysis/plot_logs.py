"""Plot logged scalars of one or more runs on one figure, and print them.

    python tools/analysis/plot_logs.py WORK_DIR [WORK_DIR ...]
        [--keys loss accuracy/top1] [--legend SE plain] [--out curves.png]

Reads mmengine's vis_data/scalars.json of each work dir (all its runs, a
resumed run continuing the first: se_plugin/analysis/logs.py), as
mmdet's and mmpretrain's analyze_logs.py read their json logs. Training
keys are drawn against iterations, validation keys against epochs.
"""
import argparse
import os
import os.path as osp
from typing import Dict, List

from se_plugin.analysis.logs import Curve, load_curves, plot_curves
from se_plugin.utils.cli import UsageError, exits_on_usage_error, figure_file


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('work_dirs', nargs='+', metavar='WORK_DIR')
    parser.add_argument('--keys', nargs='+', default=['loss'],
                        help='logged scalars to draw (default: loss)')
    parser.add_argument('--legend', nargs='+',
                        help='one label per WORK_DIR (default: folder names)')
    parser.add_argument('--out', default='curves.png', type=figure_file,
                        help='image to write (.png, .svg, .pdf)')
    args = parser.parse_args()
    for work_dir in args.work_dirs:
        if not osp.exists(work_dir):
            parser.error(f'WORK_DIR {work_dir}: no such folder or file')
    labels = args.legend or [osp.basename(osp.normpath(w))
                             for w in args.work_dirs]
    if len(labels) != len(args.work_dirs):
        parser.error(f'--legend: {len(labels)} labels for '
                     f'{len(args.work_dirs)} work dirs')
    if len(set(labels)) != len(labels):
        parser.error(f'runs need distinct labels, got {labels}; pass '
                     '--legend')
    args.labels = labels
    return args


def logged_curves(work_dir: str, keys: List[str]) -> Dict[str, Curve]:
    """The logged curves of ``keys``; a log without them (or without a
    scalars file) is a bad WORK_DIR or --keys, named in the message."""
    try:
        return load_curves(work_dir, keys)
    except (FileNotFoundError, ValueError) as e:
        raise UsageError(str(e)) from None


@exits_on_usage_error
def main():
    args = parse_args()
    runs = {label: logged_curves(w, args.keys)
            for label, w in zip(args.labels, args.work_dirs)}
    print(f"{'run':<16} {'key':<20} {'unit':<5} {'points':>6} "
          f"{'first':>10} {'last':>10} {'min':>10} {'max':>10}")
    for label, curves in runs.items():
        for key, c in curves.items():
            print(f'{label:<16} {key:<20} {c.unit:<5} {len(c.steps):>6} '
                  f'{c.values[0]:>10.4f} {c.values[-1]:>10.4f} '
                  f'{min(c.values):>10.4f} {max(c.values):>10.4f}')
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    plot_curves(runs, args.keys).savefig(args.out, dpi=90)
    print(f'curves: {args.out}')


if __name__ == '__main__':
    main()
