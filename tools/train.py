"""Train a model from a config: ImageNet/Places365 (mmpretrain) or COCO
detection (mmdet); the config's ``default_scope`` picks the registries.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
        [--auto-scale-lr] [--cfg-options k=v ...] [--launcher pytorch]
    tools/dist_train.sh CONFIG GPUS [args]     # GPUs, or CPU processes
"""
import argparse
import os

from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import se_plugin
from se_plugin.utils.cli import (DictAction, UsageError, existing_file,
                                 exits_on_usage_error)
from se_plugin.utils.launch import load_config, setup_cpu_distributed


def parse_args():
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', type=existing_file,
                        help='train config file path')
    parser.add_argument('--work-dir', help='where to save logs and models')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from CKPT, or without CKPT from the latest checkpoint '
        'in the work dir')
    parser.add_argument(
        '--amp', action='store_true', help='automatic mixed precision')
    parser.add_argument(
        '--auto-scale-lr', action='store_true',
        help='scale the lr by (GPUs x batch) / auto_scale_lr.base_batch_size')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, key=value (e.g. '
        'train_dataloader.batch_size=8)')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none', help='job launcher')
    # torchrun passes --local-rank (older launchers --local_rank).
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


@exits_on_usage_error
def main():
    se_plugin.setup()  # fixes of host defects: se_plugin.compat
    args = parse_args()
    cfg = load_config(args.config, args)
    setup_cpu_distributed(cfg)
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.loss_scale = 'dynamic'
    if args.auto_scale_lr:
        if 'base_batch_size' not in (cfg.get('auto_scale_lr') or {}):
            raise UsageError(
                '--auto-scale-lr needs auto_scale_lr.base_batch_size in the '
                f'config {args.config}')
        cfg.auto_scale_lr.enable = True
    if args.resume == 'auto':
        cfg.resume, cfg.load_from = True, None
    elif args.resume is not None:
        if not os.path.isfile(args.resume):
            raise UsageError(
                f'--resume: checkpoint {args.resume}: missing: no such file')
        cfg.resume, cfg.load_from = True, args.resume
    runner = (RUNNERS.build(cfg)
              if 'runner_type' in cfg else Runner.from_cfg(cfg))
    runner.train()


if __name__ == '__main__':
    main()
