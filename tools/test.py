"""Evaluate a checkpoint with its config's test set and metric.

    python tools/test.py CONFIG CKPT [--work-dir DIR] [--out METRICS.json]
        [--cfg-options k=v ...] [--launcher pytorch]
    tools/dist_test.sh CONFIG CKPT GPUS [args]

CKPT: a checkpoint file, or a published name (timm://legacy_seresnet50.in1k,
mmpretrain://seresnet50_8xb32_in1k, ...: se_plugin.converters.hub), which
must match the config's backbone conventions.
"""
import argparse
import json
import os

from mmengine.config import DictAction
from mmengine.dist import is_main_process
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import se_plugin  # noqa: F401  (registries, safe checkpoint loading)
from se_plugin.converters.hub import check_conventions, is_published
from se_plugin.utils.launch import load_config, setup_cpu_distributed


def parse_args():
    parser = argparse.ArgumentParser(description='Test a checkpoint')
    parser.add_argument('config', help='test config file path')
    parser.add_argument(
        'checkpoint', help='checkpoint file or published name (timm://...)')
    parser.add_argument('--work-dir', help='where to save logs')
    parser.add_argument('--out', help='write the metrics to this json file')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, key=value')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def main():
    args = parse_args()
    published = is_published(args.checkpoint)
    if not published and not os.path.isfile(args.checkpoint):
        raise FileNotFoundError(
            f'checkpoint: {args.checkpoint} is neither a file nor a '
            'published name (timm://..., mmpretrain://...)')
    cfg = load_config(args.config, args)
    if published:  # resolves, fetches and checks it before the run starts
        check_conventions(cfg.model.backbone, args.checkpoint)
    setup_cpu_distributed(cfg)
    cfg.load_from = args.checkpoint
    runner = (RUNNERS.build(cfg)
              if 'runner_type' in cfg else Runner.from_cfg(cfg))
    metrics = runner.test()
    if is_main_process():
        text = json.dumps(metrics, sort_keys=True)
        print(f'metrics: {text}')
        if args.out:
            with open(args.out, 'w') as f:
                f.write(text + '\n')


if __name__ == '__main__':
    main()
