"""Every launcher trains the same: 1 node x 2 processes (dist_train.sh),
2 nodes x 1 process (two dist_train.sh with NNODES=2 on localhost) and 2
Slurm tasks (slurm_train.sh against a real Slurm on localhost) log the same
losses and end with the same weights; a rank killed under torchrun
(ELASTIC=1) or a requeued Slurm job resumes and logs what an uninterrupted
run logs; a kill during a save leaves the previous checkpoint loadable."""
import glob
import json
import os
import os.path as osp
import re
import signal
import subprocess
import sys
import time

import pytest
import torch
from mmengine.config import Config
from mmengine.fileio import get_file_backend

from se_plugin.compat import checkpoint_globals
from se_plugin.testing.slurm_cluster import (SlurmUnavailable, free_port,
                                             start_cluster)
from se_plugin.utils.atomic_backend import BACKEND_NAME
from se_plugin.utils.launch import (latest_checkpoint, setup_cpu_distributed,
                                    shutdown_distributed,
                                    use_atomic_checkpoints)

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
CONFIG = 'configs/demo/seresnet50_8xb32_in1k_demo.py'
BATCH = 4  # per process
ITERS = 96 // (2 * BATCH)  # an epoch: 96 demo images over 2 processes
EPOCHS = 2
# One process per CPU, so 2 processes on 2 cores do not oversubscribe.
ENV = dict(OMP_NUM_THREADS='1', PYTHONPATH=REPO)
WORLD = re.compile(r'launch: launcher (\w+), backend (\w+), world size (\d+); '
                   r'(.*)')
RANK = re.compile(r'rank (\d+): node (\d+), local rank (\d+), host (\S+), '
                  r'pid (\d+)')


def train_options(demo_root):
    """The demo classifier shrunk to an SE-ResNet-18 of width 8, two
    epochs of batch 4 per process, a checkpoint per epoch (only the last
    kept), no validation, a loss logged at every iteration."""
    root = osp.join(demo_root, 'imagenet')
    return [
        'model.backbone.depth=18', 'model.backbone.base_channels=8',
        'model.backbone.stem_channels=8', 'model.head.in_channels=64',
        *(f'{s}_dataloader.dataset.data_root={root}'
          for s in ('train', 'val', 'test')),
        f'train_dataloader.batch_size={BATCH}',
        f'train_cfg.max_epochs={EPOCHS}', 'train_cfg.val_interval=100',
        'randomness.seed=0', 'default_hooks.logger.interval=1',
        'default_hooks.checkpoint.max_keep_ckpts=1'
    ]


def env(**extra):
    return dict(os.environ, **ENV, **extra)


def check(proc):
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    return proc.stdout + proc.stderr


def stop(proc):
    """Kill a launcher started with ``start_new_session`` and everything
    it started, if it still runs."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(30)


def dist_train(work_dir, options, gpus=2, timeout=300, **variables):
    return check(subprocess.run(
        ['bash', 'tools/dist_train.sh', CONFIG, str(gpus), '--work-dir',
         str(work_dir), '--cfg-options', *options],
        cwd=REPO, capture_output=True, text=True, timeout=timeout,
        env=env(**variables)))


def attempts(work_dir):
    """Per start of tools/train.py in work_dir, oldest first: (the log's
    text, {step: loss})."""
    out = []
    for log in sorted(glob.glob(f'{work_dir}/*/*.log')):
        scalars = osp.join(osp.dirname(log), 'vis_data', 'scalars.json')
        losses = {}
        if osp.exists(scalars):
            for line in open(scalars):
                row = json.loads(line)
                if 'loss' in row:
                    losses[row['step']] = row['loss']
        out.append((open(log).read(), losses))
    return out


def world(log_text):
    """(launcher, backend, world size, [(rank, node, local rank, pid)])
    from the line tools/train.py logs."""
    match = WORLD.search(log_text)
    assert match, 'no launch line in the log'
    ranks = [(int(r), int(n), int(lr), int(pid))
             for r, n, lr, _, pid in RANK.findall(match.group(4))]
    return match.group(1), match.group(2), int(match.group(3)), ranks


def final_weights(work_dir):
    # The checkpoint holds mmengine's message hub: compat's safe globals
    # (a test run alone has not switched se_plugin.setup() on).
    with torch.serialization.safe_globals(checkpoint_globals()):
        ckpt = torch.load(osp.join(work_dir, f'epoch_{EPOCHS}.pth'),
                          map_location='cpu', weights_only=True)
    return ckpt['state_dict']


def assert_same_weights(a, b):
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), key


@pytest.fixture(scope='module')
def options(demo_root):
    return train_options(demo_root)


@pytest.fixture(scope='module')
def reference(options, tmp_path_factory):
    """1 node x 2 processes: (work dir, {step: loss}, final weights)."""
    work = tmp_path_factory.mktemp('one_node')
    dist_train(work, options, PORT=str(free_port()))
    [(log, losses)] = attempts(work)
    launcher, backend, size, ranks = world(log)
    assert (launcher, backend, size) == ('pytorch', 'gloo', 2)
    assert [(r, n, lr) for r, n, lr, _ in ranks] == [(0, 0, 0), (1, 0, 1)]
    assert sorted(losses) == list(range(1, EPOCHS * ITERS + 1))
    return work, losses, final_weights(work)


@pytest.fixture(scope='module')
def slurm(tmp_path_factory):
    try:
        cluster = start_cluster(str(tmp_path_factory.mktemp('slurm')))
    except SlurmUnavailable as e:
        pytest.skip(f'no Slurm: {e}')
    yield cluster
    cluster.stop()


def slurm_env(cluster, **extra):
    variables = dict(GPUS='2', GPUS_PER_NODE='2', CPUS_PER_TASK='1',
                     PORT=str(free_port()))
    return dict(cluster.env, **ENV, **dict(variables, **extra))


@pytest.mark.slow
def test_two_nodes_train_as_one_node(reference, options, tmp_path):
    ref_work, ref_losses, ref_weights = reference
    port = str(free_port())
    nodes = [subprocess.Popen(
        ['bash', 'tools/dist_train.sh', CONFIG, '1', '--work-dir',
         str(tmp_path), '--cfg-options', *options],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=env(NNODES='2', NODE_RANK=str(rank), PORT=port,
                MASTER_ADDR='127.0.0.1'), start_new_session=True)
        for rank in (0, 1)]
    try:
        for node in nodes:
            out = node.communicate(timeout=300)[0]
            assert node.returncode == 0, out[-3000:]
    finally:
        for node in nodes:
            stop(node)
    [(log, losses)] = attempts(tmp_path)
    launcher, backend, size, ranks = world(log)
    assert (launcher, backend, size) == ('pytorch', 'gloo', 2)
    # rank r is node r's only process
    assert [(r, n, lr) for r, n, lr, _ in ranks] == [(0, 0, 0), (1, 1, 0)]
    assert losses == ref_losses
    assert_same_weights(final_weights(tmp_path), ref_weights)


@pytest.mark.slow
def test_slurm_tasks_train_as_one_node(reference, options, slurm, tmp_path):
    ref_work, ref_losses, ref_weights = reference
    check(subprocess.run(
        ['bash', 'tools/slurm_train.sh', slurm.partition, 'se_train', CONFIG,
         str(tmp_path), '--cfg-options', *options],
        cwd=REPO, capture_output=True, text=True, timeout=300,
        env=slurm_env(slurm)))
    [(log, losses)] = attempts(tmp_path)
    launcher, backend, size, ranks = world(log)
    assert (launcher, backend, size) == ('slurm', 'gloo', 2)
    assert [(r, n, lr) for r, n, lr, _ in ranks] == [(0, 0, 0), (1, 0, 1)]
    assert losses == ref_losses
    assert_same_weights(final_weights(tmp_path), ref_weights)


@pytest.mark.slow
def test_slurm_test_sh_matches_test_py(reference, options, slurm, tmp_path):
    ckpt = osp.join(reference[0], f'epoch_{EPOCHS}.pth')
    common = ['--cfg-options', *options]
    check(subprocess.run(
        [sys.executable, 'tools/test.py', CONFIG, ckpt, '--work-dir',
         str(tmp_path / 'one'), '--out-metrics', str(tmp_path / 'one.json'),
         *common], cwd=REPO, capture_output=True, text=True, timeout=300,
        env=env()))
    check(subprocess.run(
        ['bash', 'tools/slurm_test.sh', slurm.partition, 'se_test', CONFIG,
         ckpt, '--work-dir', str(tmp_path / 'two'), '--out-metrics',
         str(tmp_path / 'two.json'), *common],
        cwd=REPO, capture_output=True, text=True, timeout=300,
        env=slurm_env(slurm)))
    [log] = glob.glob(f'{tmp_path}/two/*/*.log')
    assert world(open(log).read())[:3] == ('slurm', 'gloo', 2)
    one = json.load(open(tmp_path / 'one.json'))
    two = json.load(open(tmp_path / 'two.json'))
    assert 'accuracy/top1' in one
    assert two == one


@pytest.mark.slow
@pytest.mark.parametrize('script', ['slurm_train.sh', 'slurm_test.sh'])
@pytest.mark.parametrize('case,variables,expected', [
    ('partition', dict(), 'partition nope does not exist (partitions: debug)'),
    ('tasks', dict(GPUS='64', GPUS_PER_NODE='64'),
     'cannot run GPUS=64 tasks'),
    ('cpus', dict(CPUS_PER_TASK='5'), 'CPUS_PER_TASK=5 CPUs each'),
    ('config', dict(), 'config missing.py: no such file'),
])
def test_slurm_scripts_refuse_in_one_line(slurm, tmp_path, script, case,
                                          variables, expected):
    partition = 'nope' if case == 'partition' else slurm.partition
    config = 'missing.py' if case == 'config' else CONFIG
    last = str(tmp_path / ('w' if script == 'slurm_train.sh' else 'x.pth'))
    start = time.time()
    proc = subprocess.run(
        ['bash', f'tools/{script}', partition, 'refused', config, last],
        cwd=REPO, capture_output=True, text=True, timeout=60,
        env=slurm_env(slurm, **variables))
    assert proc.returncode == 1
    assert proc.stdout == ''
    [line] = proc.stderr.splitlines()
    assert line.startswith(f'{script}: ') and expected in line, line
    assert time.time() - start < 30
    assert slurm.run('squeue', '-h').stdout.strip() == ''  # nothing queued


def wait_for_step(work_dir, step, proc, timeout=300):
    """Wait until the first attempt has logged ``step``; its log text."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        runs = attempts(work_dir)
        if runs and max(runs[0][1], default=0) >= step:
            return runs[0][0]
        assert proc is None or proc.poll() is None, 'the run ended early'
        time.sleep(0.05)
    raise TimeoutError(f'step {step} not logged in {timeout}s')


def check_resumed(work_dir, reference):
    """The first attempt was cut mid-epoch after a checkpoint; the second
    resumed from it and logged, from there on, the reference's losses; the
    final weights are the reference's. Returns (last step logged before the
    kill, epoch resumed from)."""
    ref_work, ref_losses, ref_weights = reference
    (_, before), (log, after) = attempts(work_dir)
    killed = max(before)
    match = re.search(r'resume: restart 1, from (\S+)epoch_(\d+)\.pth', log)
    assert match, 'the restarted attempt did not resume'
    epoch = int(match.group(2))
    assert epoch * ITERS < killed < EPOCHS * ITERS
    assert before == {s: ref_losses[s] for s in before}
    assert sorted(after) == list(range(epoch * ITERS + 1, EPOCHS * ITERS + 1))
    assert after == {s: ref_losses[s] for s in after}
    assert_same_weights(final_weights(work_dir), ref_weights)
    return killed, epoch


@pytest.mark.slow
def test_elastic_restart_after_kill_resumes_exactly(reference, options,
                                                    tmp_path):
    proc = subprocess.Popen(
        ['bash', 'tools/dist_train.sh', CONFIG, '2', '--work-dir',
         str(tmp_path), '--cfg-options', *options],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env=env(ELASTIC='1', MAX_RESTARTS='1', PORT=str(free_port()),
                RDZV_ID=f'test{os.getpid()}'), start_new_session=True)
    try:
        log = wait_for_step(tmp_path, ITERS + 2, proc)
        [_, (_, _, _, pid)] = world(log)[3]
        os.kill(pid, signal.SIGKILL)  # rank 1, mid-epoch 2
        out = proc.communicate(timeout=300)[0]
    finally:
        stop(proc)
    assert proc.returncode == 0, out[-3000:]
    killed, epoch = check_resumed(tmp_path, reference)
    assert epoch == 1


@pytest.mark.slow
def test_slurm_requeue_resumes_exactly(reference, options, slurm, tmp_path):
    job = tmp_path / 'job.sh'
    job.write_text('#!/bin/bash\nexec bash tools/slurm_train.sh '
                   f'{slurm.partition} se_requeue {CONFIG} {tmp_path}/w '
                   '--cfg-options ' + ' '.join(options) + '\n')
    proc = check(slurm.run(
        'sbatch', '--parsable', '--requeue', '--ntasks=2',
        '--cpus-per-task=1', '--open-mode=append',
        f'--output={tmp_path}/slurm-%j.out',
        f'--chdir={REPO}', str(job), env=slurm_env(slurm)))
    job_id = proc.strip().split(';')[0]
    wait_for_step(tmp_path / 'w', ITERS + 2, None)
    check(slurm.run('scontrol', 'requeue', job_id))
    # Slurm holds a requeued job back for two minutes; let it start now.
    deadline, requeued = time.time() + 60, False
    while True:
        state = slurm.job_state(job_id)
        requeued = requeued or state != 'RUNNING'
        if requeued and state == 'RUNNING':
            break
        assert time.time() < deadline, state
        if state == 'PENDING':
            slurm.run('scontrol', 'update', f'JobId={job_id}',
                      'StartTime=now')
        time.sleep(0.5)
    state = slurm.wait_job(job_id, timeout=300)
    out = open(glob.glob(f'{tmp_path}/slurm-*.out')[0]).read()
    assert state == 'COMPLETED', out[-3000:]
    assert 'DUE TO JOB REQUEUE' in out
    killed, epoch = check_resumed(tmp_path / 'w', reference)
    assert epoch == 1


# What a kill in the middle of the second save leaves: the first write of
# epoch_2.pth's bytes stops halfway and the process SIGKILLs itself.
KILLED_SAVE = '''
import builtins, os, signal, sys
import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmengine.runner import Runner
import se_plugin

se_plugin.setup()  # as tools/train.py: resumable checkpoints
real_open = builtins.open

class Half:
    def __init__(self, f):
        self.f = f
    def write(self, data):
        self.f.write(data[:len(data) // 2])
        self.f.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    def __enter__(self):
        return self
    def __exit__(self, *exc):
        self.f.close()
    def __getattr__(self, name):
        return getattr(self.f, name)

def killing_open(file, mode='r', *args, **kwargs):
    f = real_open(file, mode, *args, **kwargs)
    if 'epoch_2.pth' in str(file) and 'w' in mode:
        return Half(f)
    return f

class Toy(BaseModel):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 1)
    def forward(self, inputs, labels=None, mode='tensor'):
        out = self.fc(inputs)  # default_collate stacked the batch
        if mode == 'loss':
            return dict(loss=((out - labels) ** 2).mean())
        return out

data = [dict(inputs=torch.ones(2) * i, labels=torch.ones(1)) for i in range(4)]
backend_args = None if sys.argv[2] == 'local' else dict(backend=sys.argv[2])
runner = Runner(
    model=Toy(), work_dir=sys.argv[1],
    train_dataloader=dict(dataset=data, batch_size=2,
                          sampler=dict(type='DefaultSampler', shuffle=False),
                          collate_fn=dict(type='default_collate')),
    optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1)),
    train_cfg=dict(by_epoch=True, max_epochs=2),
    default_hooks=dict(checkpoint=dict(
        type='CheckpointHook', interval=1, max_keep_ckpts=1,
        backend_args=backend_args)))
builtins.open = killing_open
runner.train()
'''


@pytest.mark.slow
def test_kill_during_save_keeps_previous_checkpoint(tmp_path):
    proc = subprocess.run(
        [sys.executable, '-c', KILLED_SAVE, str(tmp_path), BACKEND_NAME],
        cwd=REPO, capture_output=True, text=True, timeout=120, env=env())
    assert proc.returncode == -signal.SIGKILL, proc.stderr[-3000:]
    assert not (tmp_path / 'epoch_2.pth').exists()
    first = str(tmp_path / 'epoch_1.pth')
    assert latest_checkpoint(str(tmp_path)) == first
    with torch.serialization.safe_globals(checkpoint_globals()):
        ckpt = torch.load(first, map_location='cpu', weights_only=True)
    assert ckpt['meta']['epoch'] == 1 and 'fc.weight' in ckpt['state_dict']


def test_atomic_backend_removes_only_after_the_next_write(tmp_path):
    backend = get_file_backend(backend_args=dict(backend=BACKEND_NAME))
    old, new = str(tmp_path / 'epoch_1.pth'), str(tmp_path / 'epoch_2.pth')
    backend.put(b'old', old)
    backend.remove(old)  # as CheckpointHook does before the next save
    assert open(old, 'rb').read() == b'old'
    (tmp_path / '.epoch_2.pth.tmp-1').write_bytes(b'ne')  # a killed save
    other = get_file_backend(backend_args=dict(backend=BACKEND_NAME))
    other.put(b'new', new)  # save_checkpoint's own backend instance
    assert not osp.exists(old)
    backend.put_text('text', str(tmp_path / 'last_checkpoint'))
    assert sorted(os.listdir(tmp_path)) == ['epoch_2.pth', 'last_checkpoint']
    assert open(tmp_path / 'last_checkpoint').read() == 'text'
    with pytest.raises(FileNotFoundError, match='missing.pth'):
        backend.remove(str(tmp_path / 'missing.pth'))


def test_latest_checkpoint_survives_a_broken_pointer(tmp_path):
    assert latest_checkpoint(str(tmp_path)) is None
    for epoch in (1, 2):
        (tmp_path / f'epoch_{epoch}.pth').write_bytes(b'x')
        os.utime(tmp_path / f'epoch_{epoch}.pth', (epoch, epoch))
    pointer = tmp_path / 'last_checkpoint'
    pointer.write_text(str(tmp_path / 'epoch_1.pth'))
    assert latest_checkpoint(str(tmp_path)) == str(tmp_path / 'epoch_1.pth')
    pointer.write_text('')  # killed while mmengine rewrote it
    assert latest_checkpoint(str(tmp_path)) == str(tmp_path / 'epoch_2.pth')
    pointer.write_text('/elsewhere/epoch_9.pth')
    assert latest_checkpoint(str(tmp_path)) == str(tmp_path / 'epoch_2.pth')


def test_tools_save_atomically_unless_the_config_chooses():
    cfg = Config(dict(work_dir='work_dirs/x', default_hooks=dict(
        checkpoint=dict(type='CheckpointHook', interval=1))))
    use_atomic_checkpoints(cfg)
    assert cfg.default_hooks.checkpoint.backend_args == dict(
        backend=BACKEND_NAME)
    chosen = dict(backend='petrel')
    cfg.default_hooks.checkpoint.backend_args = chosen
    use_atomic_checkpoints(cfg)
    assert cfg.default_hooks.checkpoint.backend_args == chosen
    remote = Config(dict(work_dir='s3://bucket/x', default_hooks=dict(
        checkpoint=dict(type='CheckpointHook', interval=1))))
    use_atomic_checkpoints(remote)
    assert 'backend_args' not in remote.default_hooks.checkpoint


def test_shutdown_leaves_the_process_group(tmp_path):
    shutdown_distributed()  # no group: nothing to do, no error
    torch.distributed.init_process_group(
        'gloo', init_method=f'file://{tmp_path}/store', rank=0, world_size=1)
    try:
        shutdown_distributed()
        assert not torch.distributed.is_initialized()
    finally:
        if torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


def test_slurm_launcher_without_srun_says_what_is_missing(monkeypatch):
    for key in ('SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_NODELIST'):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    cfg = Config(dict(launcher='slurm'))
    with pytest.raises(RuntimeError, match='SLURM_PROCID, SLURM_NTASKS, '
                       'SLURM_NODELIST not set; start the job with srun'):
        setup_cpu_distributed(cfg)


FAKE_SINFO = '''#!/bin/bash
case "$*" in
  *%R*) echo part ;;
  *%G*) echo "$FAKE_GRES" ;;
esac
'''
FAKE_SRUN = '''#!/bin/bash
[[ " $* " == *" --test-only "* ]] && exit 0
echo "srun $*"
'''


@pytest.mark.parametrize('gres,asked', [('gpu:8(S:0-1)', True),
                                        ('(null)', False)])
@pytest.mark.parametrize('script', ['slurm_train.sh', 'slurm_test.sh'])
def test_slurm_scripts_ask_for_gpus_only_where_nodes_have_them(
        tmp_path, script, gres, asked):
    # sinfo and srun stand-ins: the partition's nodes list `gres`; srun
    # prints the command it was given.
    for name, text in (('sinfo', FAKE_SINFO), ('srun', FAKE_SRUN)):
        (tmp_path / name).write_text(text)
        (tmp_path / name).chmod(0o755)
    proc = subprocess.run(
        ['bash', f'tools/{script}', 'part', 'job', CONFIG, 'last'],
        cwd=REPO, capture_output=True, text=True, timeout=60,
        env=dict(os.environ, PATH=f'{tmp_path}:{os.environ["PATH"]}',
                 FAKE_GRES=gres, GPUS='16', GPUS_PER_NODE='8'))
    assert proc.returncode == 0, proc.stderr
    [line] = proc.stdout.splitlines()
    assert line.startswith('srun -p part --job-name=job ')
    assert ('--gres=gpu:8' in line.split()) == asked
    assert '--ntasks=16 --ntasks-per-node=8 --cpus-per-task=5' in line
    assert '--launcher=slurm' in line
