"""Train a model from a config: ImageNet/Places365 (mmpretrain) or COCO
detection (mmdet); the config's ``default_scope`` picks the registries.

    python tools/train.py CONFIG [--work-dir DIR] [--resume [CKPT]] [--amp]
        [--auto-scale-lr] [--cfg-options k=v ...] [--launcher pytorch]
    tools/dist_train.sh CONFIG GPUS [args]     # GPUs, or CPU processes
    tools/slurm_train.sh PARTITION JOB_NAME CONFIG WORK_DIR [args]

After a restart (torchrun --max-restarts, i.e. ELASTIC=1 dist_train.sh, or
a requeued Slurm job) training resumes from the work dir's latest
checkpoint by itself. Checkpoints are written atomically (tools/README.md).
"""
import argparse
import os

from mmengine.registry import RUNNERS
from mmengine.runner import Runner

import se_plugin
from se_plugin.utils.cli import (DictAction, UsageError, existing_file,
                                 exits_on_usage_error)
from se_plugin.utils.launch import (describe_world, latest_checkpoint,
                                    load_config, restart_count,
                                    setup_cpu_distributed,
                                    shutdown_distributed,
                                    use_atomic_checkpoints)


def parse_args():
    parser = argparse.ArgumentParser(description='Train a model')
    parser.add_argument('config', type=existing_file,
                        help='train config file path')
    parser.add_argument('--work-dir', help='where to save logs and models')
    parser.add_argument(
        '--resume', nargs='?', type=str, const='auto',
        help='resume from CKPT, or without CKPT from the latest checkpoint '
        'in the work dir (the default after a torchrun or Slurm restart)')
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
    use_atomic_checkpoints(cfg)
    if args.amp:
        cfg.optim_wrapper.type = 'AmpOptimWrapper'
        cfg.optim_wrapper.loss_scale = 'dynamic'
    if args.auto_scale_lr:
        if 'base_batch_size' not in (cfg.get('auto_scale_lr') or {}):
            raise UsageError(
                '--auto-scale-lr needs auto_scale_lr.base_batch_size in the '
                f'config {args.config}')
        cfg.auto_scale_lr.enable = True
    resume, note = args.resume, None
    if resume == 'auto' or restart_count() > 0:
        # After a restart the work dir's latest checkpoint wins over a
        # --resume CKPT given at the first start, which it supersedes.
        latest = latest_checkpoint(cfg.work_dir)
        if latest is not None:
            resume = latest
            note = f'resume: restart {restart_count()}, from {latest}'
        elif resume == 'auto':
            resume = None
            note = f'resume: no checkpoint in {cfg.work_dir}; starting anew'
    if resume is not None:
        if not os.path.isfile(resume):
            raise UsageError(
                f'--resume: checkpoint {resume}: missing: no such file')
        cfg.resume, cfg.load_from = True, resume
    runner = (RUNNERS.build(cfg)
              if 'runner_type' in cfg else Runner.from_cfg(cfg))
    runner.logger.info(describe_world(cfg.launcher))
    if note:
        runner.logger.info(note)
    runner.train()
    shutdown_distributed()


if __name__ == '__main__':
    main()
