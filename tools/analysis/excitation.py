"""The paper's excitation analysis (Section 7.2): Fig. 6, Fig. 7 and a table.

    python tools/analysis/excitation.py CONFIG CHECKPOINT [--split test]
        [--data-config CFG] [--classes NAME ...] [--per-class N]
        [--draw NAME ...] [--blocks SE_4_6 ...] [--channels 50]
        [--out-dir DIR] [--cfg-options k=v ...] [--data-options k=v ...]

Runs the config's test (or --split) set through the model, records every SE
layer's excitation with forward hooks (se_plugin/analysis/excitation.py) and
writes to --out-dir:
  fig6.png/svg   per chosen block, the mean activation of --channels
                 uniformly spaced channels for each drawn class and the mean
                 over every class run ('all'); the blocks are the last of
                 each stage plus --blocks;
  fig7.png/svg   per drawn class and block, mean +- std over its images;
  excitation.npz per block the (classes, channels) mean and std, counts;
  summary.json   the printed table.
Blocks are named SE_stageID_blockID (stage = log2 of the output stride, the
paper's numbering of SE-ResNet-50). --data-config takes the images from
another config, e.g. a detector's SE backbone on classification images:
    python tools/analysis/excitation.py \
        configs/demo/faster_rcnn_se_r50_2x_demo.py \
        work_dirs/demo/train/epoch_12.pth \
        --data-config configs/demo/seresnet50_8xb32_in1k_demo.py --split val
"""
import argparse
import json
import math
import os
import os.path as osp

import numpy as np
from mmengine.config import Config
from mmengine.registry import DATASETS, MODELS, DefaultScope
from mmengine.runner import Runner, load_checkpoint
from mmengine.utils import ProgressBar

import se_plugin
from se_plugin.analysis.excitation import (collect_excitations, select_indices,
                                           stage_ends)
from se_plugin.analysis.excitation_plots import (plot_across_classes,
                                                 plot_within_class, save)
from se_plugin.models.layers import SELayer
from se_plugin.utils.cli import (DictAction, UsageError, existing_file,
                                 exits_on_usage_error, positive_int,
                                 unit_float)

COLUMNS = ('block', 'module', 'C', 'mean', 'within', 'between',
           'specificity', 'sat')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', type=existing_file,
                        help='config of the SE model')
    parser.add_argument('checkpoint', type=existing_file,
                        help='its checkpoint (.pth)')
    parser.add_argument(
        '--split', default='test', choices=('train', 'val', 'test'),
        help="which dataloader's images (default: test; train keeps its "
        'random augmentation)')
    parser.add_argument(
        '--data-config', type=existing_file,
        help='take the dataloader from this config (default: CONFIG)')
    parser.add_argument(
        '--classes', nargs='+', metavar='NAME',
        help='run only the images of these classes (default: every class)')
    parser.add_argument(
        '--per-class', type=positive_int, metavar='N',
        help='the first N images of each class (default: all)')
    parser.add_argument(
        '--draw', nargs='+', metavar='NAME',
        help='classes drawn as curves (default: the classes run, the first '
        '4 when there are more than 8)')
    parser.add_argument(
        '--blocks', nargs='+', default=[], metavar='SE_s_b',
        help="blocks drawn besides each stage's last, or 'all'")
    parser.add_argument(
        '--channels', type=positive_int, default=50,
        help='channels drawn per block, uniformly spaced (paper: 50)')
    parser.add_argument(
        '--saturation', type=unit_float, default=0.9,
        help='a class mean at or above this counts as saturated')
    parser.add_argument(
        '--out-dir', help='default: work_dirs/excitation/<config name>')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override settings of CONFIG, k=v')
    parser.add_argument(
        '--data-options', nargs='+', action=DictAction,
        help='override settings of --data-config, k=v')
    args = parser.parse_args()
    if args.data_options and not args.data_config:
        parser.error('--data-options set --data-config settings; without '
                     '--data-config use --cfg-options')
    return args


def _config(path: str, options) -> Config:
    cfg = Config.fromfile(path)
    if options:
        cfg.merge_from_dict(options)
    return cfg


def _class_indices(names, class_names, flag):
    missing = [n for n in names if n not in class_names]
    if missing:
        shown = ', '.join(map(repr, class_names[:10]))
        more = ' ...' if len(class_names) > 10 else ''
        raise UsageError(f'{flag}: {missing} not among the dataset classes '
                         f'({shown}{more})')
    return [class_names.index(n) for n in names]


def build_data(cfg: Config, split: str, args):
    """The split's dataloader over the chosen images, in dataset order, and
    the dataset's class names."""
    key = f'{split}_dataloader'
    if not cfg.get(key):
        raise UsageError(f'--split {split}: the config has no {key}')
    loader = cfg[key].copy()
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        dataset = DATASETS.build(loader['dataset'])
        dataset.full_init()
        if not hasattr(dataset, 'get_gt_labels'):
            raise UsageError(f'{key}: {type(dataset).__name__} has no '
                             'gt_label per image; the excitation analysis '
                             'needs a classification dataset')
        labels = dataset.get_gt_labels()
        class_names = list(dataset.metainfo.get('classes') or [])
        class_names += [str(i) for i in range(len(class_names),
                                              int(labels.max()) + 1)]
        wanted = (None if args.classes is None else _class_indices(
            args.classes, class_names, '--classes'))
        indices = select_indices(labels, wanted, args.per_class)
        if not indices:
            raise UsageError(f'{key}: no images of the chosen classes')
        loader.update(
            dataset=dataset.get_subset(indices),
            sampler=dict(type='DefaultSampler', shuffle=False))
        if loader.get('num_workers', 0) == 0:
            loader['persistent_workers'] = False
        return Runner.build_dataloader(loader), class_names


def print_table(rows) -> None:
    cells = [COLUMNS] + [(r.name, r.module, str(r.channels), f'{r.mean:.3f}',
                          f'{r.within:.4f}', f'{r.between:.4f}',
                          '-' if math.isnan(r.specificity) else
                          f'{r.specificity:.2f}', f'{r.saturation:.0%}')
                         for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(len(COLUMNS))]
    for row in cells:
        print('  '.join(c.ljust(w) if i < 2 else c.rjust(w)
                        for i, (c, w) in enumerate(zip(row, widths))))
    print('within/between: RMS over channels of the within-class std and '
          'of the spread of class means; specificity = (between/within)^2; '
          'sat: share of class means >= threshold.')


@exits_on_usage_error
def main():
    se_plugin.setup()  # fixes of host defects: se_plugin.compat
    args = parse_args()
    cfg = _config(args.config, args.cfg_options)
    data_cfg = (cfg if args.data_config is None else _config(
        args.data_config, args.data_options))
    out_dir = args.out_dir or osp.join(
        'work_dirs', 'excitation', osp.splitext(osp.basename(args.config))[0])

    # The data first: a wrong class name fails before the model is built.
    dataloader, class_names = build_data(data_cfg, args.split, args)
    drawn = (_class_indices(args.draw, class_names, '--draw')
             if args.draw else None)
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope')):
        model = MODELS.build(cfg.model)
    if not any(isinstance(m, SELayer) for m in model.modules()):
        raise UsageError(f'config: {args.config} builds a model without SE '
                         'layers; the excitation analysis needs an SE model')
    load_checkpoint(model, args.checkpoint, map_location='cpu')
    bar = ProgressBar(len(dataloader.dataset))
    stats = collect_excitations(model, dataloader, class_names, bar)
    print()

    seen = stats.labels
    draw = drawn or (seen if len(seen) <= 8 else seen[:4])
    unseen = [class_names[k] for k in draw if k not in seen]
    if unseen:
        raise UsageError(f'--draw: {unseen} have no images in this run')
    if args.blocks == ['all']:
        blocks = stats.blocks
    else:
        for block in args.blocks:
            if block not in stats.blocks:
                raise UsageError(f'--blocks: {block!r} is not a block of this '
                                 f"model ({', '.join(stats.blocks)}) or 'all'")
        blocks = [b for b in stats.blocks
                  if b in stage_ends(stats.blocks) or b in args.blocks]

    rows = stats.summary(args.saturation)
    print_table(rows)
    os.makedirs(out_dir, exist_ok=True)  # after the checks: none left behind
    np.savez(osp.join(out_dir, 'excitation.npz'), **stats.arrays())
    with open(osp.join(out_dir, 'summary.json'), 'w') as f:
        json.dump(dict(threshold=args.saturation,
                       images={class_names[k]: int(n) for k, n in
                               zip(seen, stats.counts())},
                       blocks=[{k: None if isinstance(v, float)
                                and math.isnan(v) else v
                                for k, v in r._asdict().items()}
                               for r in rows]), f, indent=1)
    save(plot_across_classes(stats, blocks, draw, args.channels),
         osp.join(out_dir, 'fig6'))
    save(plot_within_class(stats, blocks, draw, args.channels),
         osp.join(out_dir, 'fig7'))
    print(f'{len(seen)} classes, {int(stats.counts().sum())} images; '
          f'fig6, fig7 (png, svg), excitation.npz and summary.json in '
          f'{out_dir}')


if __name__ == '__main__':
    main()
