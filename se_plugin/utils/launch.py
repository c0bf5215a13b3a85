"""What tools/train.py and tools/test.py share: config overrides and the
distributed set-up, including CPU-only machines."""
import os
import os.path as osp

import torch
import torch.distributed as dist
from mmengine.config import Config


def load_config(path: str, args) -> Config:
    """Read ``path`` and apply the common command-line options."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'config: {path} does not exist')
    cfg = Config.fromfile(path)
    cfg.launcher = args.launcher
    if args.cfg_options:
        cfg.merge_from_dict(args.cfg_options)
    # work_dir priority: command line > config > ./work_dirs/<config name>
    if args.work_dir is not None:
        cfg.work_dir = args.work_dir
    elif cfg.get('work_dir') is None:
        cfg.work_dir = osp.join('./work_dirs',
                                osp.splitext(osp.basename(path))[0])
    return cfg


def setup_cpu_distributed(cfg: Config) -> None:
    """Distributed training without GPUs: gloo, and DDP without devices.

    Does nothing with ``launcher='none'`` or when CUDA is available (then
    mmengine's runner sets up NCCL itself). mmengine's launcher always calls
    ``torch.cuda.set_device``; with the process group made here, the runner
    finds it initialised and skips that.
    """
    if cfg.launcher == 'none' or torch.cuda.is_available():
        return
    os.environ.setdefault('LOCAL_RANK', '0')
    cfg.setdefault('env_cfg', {})
    cfg.env_cfg['dist_cfg'] = dict(backend='gloo')
    if not dist.is_initialized():
        if cfg.launcher == 'slurm':
            raise RuntimeError('launcher=slurm needs GPUs; on CPU use '
                               'launcher=pytorch (tools/dist_train.sh)')
        dist.init_process_group(backend='gloo')
    cfg.model_wrapper_cfg = dict(
        type='MMDistributedDataParallel',
        device_ids=None,
        broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))
