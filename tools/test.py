"""Evaluate a checkpoint with its config's test set and metric.

    python tools/test.py CONFIG CKPT [--work-dir DIR] [--out METRICS.json]
        [--cfg-options k=v ...] [--launcher pytorch]
    tools/dist_test.sh CONFIG CKPT GPUS [args]
"""
import argparse
import json
import os

from mmengine.config import DictAction
from mmengine.dist import is_main_process
from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import se_plugin  # noqa: F401  (registries, safe checkpoint loading)
from se_plugin.utils.launch import load_config, setup_cpu_distributed


def parse_args():
    parser = argparse.ArgumentParser(description='Test a checkpoint')
    parser.add_argument('config', help='test config file path')
    parser.add_argument('checkpoint', help='checkpoint file')
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
    if not os.path.isfile(args.checkpoint):
        raise FileNotFoundError(f'checkpoint: {args.checkpoint} does not exist')
    cfg = load_config(args.config, args)
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
