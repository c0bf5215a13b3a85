"""Evaluate a checkpoint with its config's test set and metric.

    python tools/test.py CONFIG CKPT [--work-dir DIR] [--out PREDS.pkl]
        [--out-metrics METRICS.json] [--show-dir DIR]
        [--cfg-options k=v ...] [--launcher pytorch]
    tools/dist_test.sh CONFIG CKPT GPUS [args]
    tools/slurm_test.sh PARTITION JOB_NAME CONFIG CKPT [args]

CKPT: a checkpoint file, or a published name (timm://legacy_seresnet50.in1k,
mmpretrain://seresnet50_8xb32_in1k, ...: se_plugin.converters.hub), which
must match the config's backbone conventions.

As mmdet's and mmpretrain's tools/test.py: --out dumps the predictions
(mmdet's DumpDetResults for detectors, mmengine's DumpResults otherwise)
for offline analysis (e.g. tools/analysis/confusion_matrix.py), and
--show-dir draws them with the config's visualization hook and visualizer.
"""
import argparse
import inspect
import json
import os
import os.path as osp

from mmengine.dist import is_main_process
from mmengine.evaluator import DumpResults
from mmengine.registry import HOOKS, RUNNERS
from mmengine.runner import Runner

import se_plugin
from se_plugin.converters.hub import (check_conventions, file_or_published,
                                      is_published)
from se_plugin.utils.cli import (DictAction, UsageError, existing_file,
                                 exits_on_usage_error)
from se_plugin.utils.launch import (describe_world, load_config,
                                    setup_cpu_distributed,
                                    shutdown_distributed)


def parse_args():
    parser = argparse.ArgumentParser(description='Test a checkpoint')
    parser.add_argument('config', type=existing_file,
                        help='test config file path')
    parser.add_argument(
        'checkpoint', type=file_or_published,
        help='checkpoint file or published name (timm://...)')
    parser.add_argument('--work-dir', help='where to save logs')
    parser.add_argument(
        '--out', help='dump the predictions to this .pkl file')
    parser.add_argument(
        '--out-metrics', help='write the metrics to this json file')
    parser.add_argument(
        '--show-dir', help='draw the predictions into this folder')
    parser.add_argument(
        '--cfg-options', nargs='+', action=DictAction,
        help='override config settings, key=value')
    parser.add_argument(
        '--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    args = parser.parse_args()
    if args.out and not args.out.endswith(('.pkl', '.pickle')):
        parser.error(f'--out {args.out}: predictions are dumped to a .pkl or '
                     '.pickle file; the metrics json is --out-metrics')
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    return args


def dump_metric(cfg, path: str):
    """The host's dump metric: mmdet's compresses masks and drops the
    ground truth; mmengine's keeps each data sample as it is."""
    if cfg.get('default_scope') == 'mmdet':
        from mmdet.evaluation import DumpDetResults
        return DumpDetResults(out_file_path=path)
    return DumpResults(out_file_path=path)


def trigger_visualization(cfg, show_dir: str) -> None:
    """Turn on the config's visualization hook, writing into ``show_dir``
    (mmdet's ``trigger_visualization_hook``; mmpretrain's hook names the
    same switches ``enable`` and ``out_dir``)."""
    vis = cfg.get('default_hooks', {}).get('visualization')
    if vis is None:
        raise UsageError(
            '--show-dir: the config has no default_hooks.visualization '
            "(e.g. dict(type='VisualizationHook') from the host's "
            'default_runtime)')
    with HOOKS.switch_scope_and_registry(cfg.get('default_scope')) as hooks:
        hook = hooks.get(vis['type'])
    if hook is None:
        raise UsageError(f"--show-dir: {vis['type']} (default_hooks."
                         'visualization) is not a registered hook')
    params = inspect.signature(hook).parameters
    # mmdet joins a relative test_out_dir under work_dir/timestamp; an
    # absolute one is used as given, so both hosts write where asked.
    show_dir = osp.abspath(show_dir)
    if 'draw' in params:  # mmdet's DetVisualizationHook
        vis.update(draw=True, test_out_dir=show_dir)
    elif 'enable' in params:  # mmpretrain's VisualizationHook
        # every image, as mmpretrain's tools/test.py (--interval 1)
        vis.update(enable=True, out_dir=show_dir, interval=1)
    else:
        raise UsageError(f"--show-dir: {vis['type']} takes neither draw "
                         "(mmdet) nor enable (mmpretrain)")


@exits_on_usage_error
def main():
    se_plugin.setup()  # fixes of host defects: se_plugin.compat
    args = parse_args()
    published = is_published(args.checkpoint)
    cfg = load_config(args.config, args)
    if published:  # resolves, fetches and checks it before the run starts
        check_conventions(cfg.model.backbone, args.checkpoint)
    setup_cpu_distributed(cfg)
    cfg.load_from = args.checkpoint
    if args.show_dir:
        trigger_visualization(cfg, args.show_dir)
    runner = (RUNNERS.build(cfg)
              if 'runner_type' in cfg else Runner.from_cfg(cfg))
    runner.logger.info(describe_world(cfg.launcher))
    if args.out:
        runner.test_evaluator.metrics.append(dump_metric(cfg, args.out))
    metrics = runner.test()
    if is_main_process():
        text = json.dumps(metrics, sort_keys=True)
        print(f'metrics: {text}')
        if args.out_metrics:
            os.makedirs(osp.dirname(osp.abspath(args.out_metrics)),
                        exist_ok=True)
            with open(args.out_metrics, 'w') as f:
                f.write(text + '\n')
    shutdown_distributed()


if __name__ == '__main__':
    main()
