"""What tools/train.py and tools/test.py share: config overrides, the
distributed set-up (including CPU-only machines and Slurm without GPUs),
automatic resumption after a restart, and atomic checkpoint files."""
import glob
import os
import os.path as osp
import socket
import subprocess
from datetime import timedelta
from typing import Optional

import torch
import torch.distributed as dist
from mmengine.config import Config
from mmengine.dist import all_gather_object, get_world_size

from se_plugin.utils.atomic_backend import (BACKEND_NAME,
                                            register_atomic_backend)

# Set by torchrun (--max-restarts) and by Slurm (a requeued batch job) in
# every process of a restarted attempt.
RESTART_COUNTERS = ('TORCHELASTIC_RESTART_COUNT', 'SLURM_RESTART_COUNT')


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


def _slurm_environment() -> None:
    """Rank, world size and master address from Slurm's variables, as
    mmengine's ``_init_dist_slurm`` sets them, which we cannot call on a
    CPU node: it always calls ``torch.cuda.set_device``."""
    missing = [k for k in ('SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_NODELIST')
               if k not in os.environ]
    if missing:
        raise RuntimeError(
            f'launcher=slurm: {", ".join(missing)} not set; start the job '
            'with srun (tools/slurm_train.sh)')
    os.environ['RANK'] = os.environ['SLURM_PROCID']
    os.environ['WORLD_SIZE'] = os.environ['SLURM_NTASKS']
    os.environ['LOCAL_RANK'] = os.environ.get('SLURM_LOCALID', '0')
    os.environ.setdefault('MASTER_PORT', '29500')
    if 'MASTER_ADDR' not in os.environ:
        nodes = os.environ['SLURM_NODELIST']
        proc = subprocess.run(['scontrol', 'show', 'hostnames', nodes],
                              capture_output=True, text=True, timeout=60)
        if proc.returncode != 0 or not proc.stdout.split():
            raise RuntimeError(
                f'launcher=slurm: scontrol show hostnames {nodes} failed: '
                f'{proc.stderr.strip()}')
        os.environ['MASTER_ADDR'] = proc.stdout.split()[0]


def _init_gloo() -> None:
    """The default process group with gloo, from the launcher's variables.

    After a restart, torchrun's workers reuse the store its agent keeps for
    the whole job (``TORCHELASTIC_USE_AGENT_STORE``), which still holds the
    dead attempt's keys: gloo then reads the dead workers' addresses and
    fails to connect (seen with torch 2.14's c10d rendezvous). Keys under
    a prefix per attempt keep the attempts apart.
    """
    if os.environ.get('TORCHELASTIC_USE_AGENT_STORE') != 'True':
        dist.init_process_group(backend='gloo')
        return
    rank, world_size = int(os.environ['RANK']), int(os.environ['WORLD_SIZE'])
    store = dist.TCPStore(
        os.environ['MASTER_ADDR'], int(os.environ['MASTER_PORT']),
        world_size, is_master=False, timeout=timedelta(minutes=30))
    store = dist.PrefixStore(
        f'se_plugin/attempt_{os.environ.get("TORCHELASTIC_RESTART_COUNT")}',
        store)
    dist.init_process_group(
        backend='gloo', store=store, rank=rank, world_size=world_size)


def setup_cpu_distributed(cfg: Config) -> None:
    """Distributed training without GPUs: gloo, and DDP without devices.

    Does nothing with ``launcher='none'`` or when CUDA is available (then
    mmengine's runner sets up NCCL itself). mmengine's launchers always call
    ``torch.cuda.set_device``; with the process group made here, the runner
    finds it initialised and skips that. ``launcher='slurm'`` reads the
    ranks from Slurm's variables, as mmengine does.
    """
    if cfg.launcher == 'none' or torch.cuda.is_available():
        return
    if cfg.launcher not in ('pytorch', 'slurm'):
        raise RuntimeError(f'launcher={cfg.launcher} needs GPUs; on CPU use '
                           'pytorch (tools/dist_train.sh) or slurm '
                           '(tools/slurm_train.sh)')
    if cfg.launcher == 'slurm':
        _slurm_environment()
    os.environ.setdefault('LOCAL_RANK', '0')
    cfg.setdefault('env_cfg', {})
    cfg.env_cfg['dist_cfg'] = dict(backend='gloo')
    if not dist.is_initialized():
        _init_gloo()
    cfg.model_wrapper_cfg = dict(
        type='MMDistributedDataParallel',
        device_ids=None,
        broadcast_buffers=False,
        find_unused_parameters=cfg.get('find_unused_parameters', False))


def shutdown_distributed() -> None:
    """Leave the process group cleanly at the end of a run: a barrier (no
    rank takes the store down while another still uses it), then
    ``destroy_process_group``. mmengine never destroys it; a process that
    exits with it alive can abort in its C++ teardown ("terminate called
    without an active exception", seen with gloo after a torchrun restart
    with torch 2.14.1), which fails a run that had finished."""
    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def describe_world(launcher: str) -> str:
    """One line naming the launcher, backend, world size and every rank's
    node, local rank, host and pid, for the log (written by rank 0 only).

    A collective where a process group exists: every rank must call it.

    Args:
        launcher (str): The config's launcher ('none', 'pytorch', 'slurm').
    """
    node = os.environ.get('GROUP_RANK', os.environ.get('SLURM_NODEID', '0'))
    me = (f'node {node}, local rank {os.environ.get("LOCAL_RANK", "0")}, '
          f'host {socket.gethostname()}, pid {os.getpid()}')
    if not dist.is_available() or not dist.is_initialized():
        return (f'launch: launcher {launcher}, backend none, world size 1; '
                f'rank 0: {me}')
    ranks = all_gather_object(me)
    return (f'launch: launcher {launcher}, backend {dist.get_backend()}, '
            f'world size {get_world_size()}; ' +
            '; '.join(f'rank {r}: {m}' for r, m in enumerate(ranks)))


def restart_count() -> int:
    """How many times torchrun or Slurm restarted this job (0 at first)."""
    return max(int(os.environ.get(k) or 0) for k in RESTART_COUNTERS)


def latest_checkpoint(work_dir: str) -> Optional[str]:
    """The checkpoint to resume from in ``work_dir``, or None.

    mmengine's ``find_latest_checkpoint`` trusts the ``last_checkpoint``
    file, which ``CheckpointHook`` rewrites in place after each save: a
    kill at that moment leaves it empty, and a work dir copied elsewhere
    names paths that no longer exist. Here it is used when it names a file
    that exists; otherwise the newest ``epoch_*.pth``/``iter_*.pth``.

    Args:
        work_dir (str): The run's work dir.
    """
    pointer = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        with open(pointer) as f:
            named = f.read().strip()
        if named and osp.isfile(named):
            return named
    found = glob.glob(osp.join(work_dir, 'epoch_*.pth')) + glob.glob(
        osp.join(work_dir, 'iter_*.pth'))
    return max(found, key=osp.getmtime) if found else None


def use_atomic_checkpoints(cfg: Config) -> None:
    """Save checkpoints through :class:`AtomicLocalBackend` unless the
    config picks a storage backend itself or saves to a remote URI."""
    register_atomic_backend()
    hook = cfg.get('default_hooks', {}).get('checkpoint')
    if not hook or hook.get('backend_args') or hook.get('file_client_args'):
        return
    if '://' in str(hook.get('out_dir') or cfg.work_dir):
        return
    hook['backend_args'] = dict(backend=BACKEND_NAME)
