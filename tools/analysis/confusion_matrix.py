"""Confusion matrix of a classifier, from a checkpoint or dumped predictions.

    python tools/analysis/confusion_matrix.py CONFIG CKPT_OR_PKL
        [--out cm.json] [--show-path cm.png] [--include-values]
        [--cfg-options k=v ...]

As mmpretrain's tools/analysis_tools/confusion_matrix.py: a .pth is
evaluated on the config's test set with mmpretrain's ConfusionMatrix
metric; a .pkl (tools/test.py --out) is evaluated offline with the same
metric (read as data only: se_plugin/utils/safe_pickle.py). Prints the
matrix (rows: ground truth, columns: prediction) and each class's recall.
"""
import argparse
import json
import pickle
import tempfile

import torch
from mmengine.config import Config
from mmengine.evaluator import Evaluator
from mmengine.registry import DATASETS, DefaultScope
from mmengine.runner import Runner
from mmpretrain.evaluation import ConfusionMatrix

import se_plugin
from se_plugin.utils.cli import (DictAction, UsageError, existing_file,
                                 exits_on_usage_error, figure_file)
from se_plugin.utils.safe_pickle import load_pickle

RESULT_SUFFIXES = ('.pth', '.pkl', '.pickle')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', type=existing_file,
                        help='the classifier config')
    parser.add_argument('ckpt_or_result', type=existing_file,
                        help='checkpoint (.pth) or dumped predictions (.pkl)')
    parser.add_argument('--out', help='write the matrix to this json file')
    parser.add_argument('--show-path', type=figure_file,
                        help='draw the matrix into this image')
    parser.add_argument('--include-values', action='store_true',
                        help='write the counts into the drawing')
    parser.add_argument('--cmap', default='viridis', help='matplotlib cmap')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, key=value')
    args = parser.parse_args()
    if not args.ckpt_or_result.endswith(RESULT_SUFFIXES):
        parser.error(f'ckpt_or_result: {args.ckpt_or_result}: expected a '
                     'checkpoint (.pth) or dumped predictions (.pkl, '
                     '.pickle)')
    import matplotlib
    if args.cmap not in matplotlib.colormaps:
        parser.error(f'--cmap {args.cmap}: not a matplotlib colormap (e.g. '
                     'viridis, Blues, gray)')
    return args


def class_names(cfg: Config):
    """The test set's class names (None if it has none)."""
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        dataset = DATASETS.build({**cfg.test_dataloader.dataset,
                                  'pipeline': []})
    return dataset.metainfo.get('classes')


def compute(cfg: Config, path: str) -> torch.Tensor:
    """The (truth, prediction) count matrix of a .pth or a .pkl."""
    if path.endswith('.pth'):
        cfg.test_evaluator = dict(type='mmpretrain.ConfusionMatrix')
        cfg.load_from = path
        with tempfile.TemporaryDirectory() as tmp:
            cfg.work_dir = tmp
            metrics = Runner.from_cfg(cfg).test()
    elif path.endswith(('.pkl', '.pickle')):
        try:
            predictions = load_pickle(path)
        except pickle.UnpicklingError as e:  # names the file and why
            raise UsageError(str(e)) from None
        except EOFError:
            raise UsageError(f'{path}: ends early (a truncated predictions '
                             'dump?)') from None
        if not (isinstance(predictions, list) and predictions
                and all('gt_label' in p for p in predictions)):
            raise UsageError(f'{path}: not a classifier\'s predictions dump '
                             '(tools/test.py --out; one dict with gt_label '
                             'per image)')
        metrics = Evaluator(ConfusionMatrix()).offline_evaluate(predictions)
    else:
        raise ValueError(f'{path}: expected a checkpoint (.pth) or dumped '
                         'predictions (.pkl, .pickle)')
    return metrics['confusion_matrix/result']


def print_matrix(matrix: torch.Tensor, names) -> None:
    names = [str(n)[:12] for n in names]
    width = max(6, *map(len, names))
    print(' ' * width + ' ' + ' '.join(n.rjust(width) for n in names)
          + '  recall')
    for i, (name, row) in enumerate(zip(names, matrix.tolist())):
        total = sum(row)
        recall = f'{100 * row[i] / total:6.1f}' if total else '     -'
        print(name.rjust(width) + ' '
              + ' '.join(str(v).rjust(width) for v in row) + '  ' + recall)
    total = int(matrix.sum())
    print(f'accuracy: {100 * float(matrix.trace()) / total:.2f} '
          f'({int(matrix.trace())}/{total})')


@exits_on_usage_error
def main():
    se_plugin.setup()  # fixes of host defects: se_plugin.compat
    args = parse_args()
    cfg = Config.fromfile(args.config)
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    matrix = compute(cfg, args.ckpt_or_result)
    classes = list(class_names(cfg) or [])[:len(matrix)]
    classes += [str(i) for i in range(len(classes), len(matrix))]
    print_matrix(matrix, classes)
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(dict(classes=classes, matrix=matrix.tolist()), f)
    if args.show_path:
        import matplotlib
        matplotlib.use('Agg')
        fig = ConfusionMatrix.plot(
            matrix, include_values=args.include_values, cmap=args.cmap,
            classes=classes, show=False)
        fig.savefig(args.show_path, dpi=90)
        print(f'confusion matrix: {args.show_path}')


if __name__ == '__main__':
    main()
