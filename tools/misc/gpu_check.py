"""The GPU checklist: what a GPU machine must do, in a few minutes.

    python tools/misc/gpu_check.py [--work-dir DIR] [--skip STEP ...]

Steps (each PASS or FAIL with its figures, the others run regardless):

- ``ops``: mmcv built with CUDA ops; RoIAlign (forward and gradient) and
  NMS on random boxes, CUDA against mmcv's CPU kernels.
- ``lean``: a training step of SE-ResNet-50 with the lean SE tail against
  ``lean=False`` (outputs, gradients, BN statistics; float64 for the
  formula, float32 and fp16 autocast for the rounding) and the peak memory
  of each.
- ``amp``: one AMP training step of the Faster R-CNN SE-R50 demo config
  (configs/demo/faster_rcnn_se_r50_2x_demo.py) on cuda: finite losses, the
  backbone in fp16, peak memory.
- ``dist``: tools/dist_train.sh with NCCL on every GPU present, one epoch of
  the demo data (16 iterations on one GPU).
- ``bench``: tools/analysis/benchmark.py --device cuda --amp, eager,
  --channels-last and --compile (the compiled run is the slow one: skip it
  with ``--skip bench-compile``).

Exit status: 0 all passed, 1 a step failed, 2 no GPU (nothing is run).
"""
import argparse
import glob
import json
import os
import os.path as osp
import re
import signal
import subprocess
import sys
import tempfile
import time
import traceback
from typing import Callable, List, Sequence, Tuple

import torch

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
CONFIG = 'configs/demo/faster_rcnn_se_r50_2x_demo.py'
Step = Tuple[str, str, Callable[[], str]]  # (key, title, run -> figures)


def run_steps(steps: Sequence[Step], skip: Sequence[str] = ()) -> List[tuple]:
    """Run each step not in ``skip``; rows of (title, PASS/FAIL, seconds,
    figures or the error's last line)."""
    rows = []
    for key, title, fn in steps:
        if key in skip:
            continue
        start = time.time()
        try:
            result, figures = 'PASS', fn()
        except Exception as err:  # a failed check must not stop the others
            traceback.print_exc()
            result, figures = 'FAIL', f'{type(err).__name__}: {err}'
        rows.append((title, result, time.time() - start, figures))
        print(f'[gpu_check] {title}: {result} {figures}', flush=True)
    return rows


def table(rows: Sequence[tuple]) -> str:
    """The rows as an aligned text table."""
    width = max([len(r[0]) for r in rows] + [4])
    lines = [f'{"step":<{width}}  result  seconds  figures']
    for title, result, seconds, figures in rows:
        lines.append(f'{title:<{width}}  {result:<6}  {seconds:>7.1f}  '
                     f'{figures.splitlines()[-1] if figures else ""}')
    return '\n'.join(lines)


def check(condition: bool, message: str) -> None:
    """Fail a step with ``message`` (not an assert: ``-O`` keeps it)."""
    if not condition:
        raise RuntimeError(message)


def mmcv_cuda() -> str:
    """mmcv._ext was compiled with CUDA ops. Asked in a child process: on
    one H200 machine (torch 2.11, Python 3.12) this very call crashed the
    interpreter, which must fail this step only."""
    proc = subprocess.run(
        [sys.executable, '-c', 'from mmcv.ops import '
         'get_compiling_cuda_version as v; print(v())'],
        capture_output=True, text=True)
    crash = ', a segmentation fault' if proc.returncode == -11 else ''
    check(proc.returncode == 0,
          f'mmcv.ops.get_compiling_cuda_version() failed (exit '
          f'{proc.returncode}{crash}): {proc.stderr.strip()[-300:]}')
    built = proc.stdout.strip().splitlines()[-1]
    check(built != 'not available',
          'mmcv._ext has no CUDA ops: rebuild with tools/setup_env.sh on '
          'this machine (or FORCE_CUDA=1)')
    return f'mmcv._ext compiled with CUDA {built}'


def roi_align() -> str:
    """RoIAlign forward and gradient, CUDA against CPU, random RoIs."""
    from mmcv.ops import roi_align as mmcv_roi_align
    gen = torch.Generator().manual_seed(0)
    feats = torch.randn(2, 16, 32, 32, generator=gen)
    xy = torch.rand(64, 2, generator=gen) * 24
    wh = torch.rand(64, 2, generator=gen) * 8 + 1
    rois = torch.cat([torch.randint(0, 2, (64, 1), generator=gen).float(),
                      xy, xy + wh], 1)
    figures = []
    for sampling_ratio in (0, 2):
        out, grad = [], []
        for device in ('cpu', 'cuda'):
            x = feats.to(device).detach().requires_grad_()
            y = mmcv_roi_align(x, rois.to(device), (7, 7), 1.0,
                               sampling_ratio, 'avg', True)
            y.pow(2).sum().backward()
            out.append(y.detach().cpu())
            grad.append(x.grad.cpu())
        diff = (out[0] - out[1]).abs().max().item()
        gdiff = (grad[0] - grad[1]).abs().max().item()
        check(diff < 1e-4 and gdiff < 1e-3,
              f'sampling_ratio={sampling_ratio}: max |cuda - cpu| forward '
              f'{diff:.2e}, gradient {gdiff:.2e}')
        figures.append(f'sr{sampling_ratio} fwd {diff:.1e} grad {gdiff:.1e}')
    return 'max |cuda - cpu|: ' + ', '.join(figures)


def nms() -> str:
    """NMS of 2000 random boxes keeps the same indices on CUDA and CPU."""
    from mmcv.ops import nms as mmcv_nms
    gen = torch.Generator().manual_seed(0)
    xy = torch.rand(2000, 2, generator=gen) * 100
    boxes = torch.cat([xy, xy + torch.rand(2000, 2, generator=gen) * 40 + 2],
                      1)
    scores = torch.rand(2000, generator=gen)
    kept = [
        mmcv_nms(boxes.to(d), scores.to(d), 0.5)[1].cpu()
        for d in ('cpu', 'cuda')
    ]
    check(torch.equal(kept[0], kept[1]),
          f'kept {len(kept[1])} boxes on cuda, {len(kept[0])} on cpu, or '
          f'other indices')
    return f'2000 boxes, IoU 0.5: the same {len(kept[0])} kept on both'


def lean_tail() -> str:
    """A training step of SE-ResNet-50 on cuda with the lean SE tail
    (SELayer's default) against lean=False: outputs, every gradient and BN
    statistics; and the peak memory of each.

    float64 checks the formula (rounding alone stays near 1e-12; a wrong
    formula is off by the gradient's own size). float32 (TF32 off) and
    fp16 autocast report the rounding, which a 50-layer backward amplifies
    in the first layers' gradients (1.3e-2 in float32 on an H200, 2.2e-1
    with TF32 on): checked against loose bounds only.
    """
    from se_plugin.models.backbones import SEResNet
    torch.manual_seed(0)
    lean = SEResNet(depth=50, out_indices=(0, 1, 2, 3)).cuda()
    reference = SEResNet(depth=50, out_indices=(0, 1, 2, 3),
                         se_cfg=dict(lean=False)).cuda()
    start = {k: v.clone() for k, v in lean.state_dict().items()}
    tf32 = (torch.backends.cuda.matmul.allow_tf32,
            torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    figures = []
    try:
        for name, dtype, amp, tol in (('float64', torch.float64, False, 1e-6),
                                      ('float32', torch.float32, False, 0.1),
                                      ('fp16 autocast', torch.float32, True,
                                       0.5)):
            worst, peaks = compare_lean(lean, reference, start, dtype, amp)
            check(worst < tol, f'{name}: lean and lean=False differ by '
                  f'{worst:.1e} (relative), more than {tol:g}')
            figures.append(f'{name} max rel diff {worst:.1e}, peak '
                           f'{peaks[0] / 2**30:.2f}/{peaks[1] / 2**30:.2f} '
                           f'GiB ({peaks[0] / peaks[1]:.3f}x)')
    finally:
        (torch.backends.cuda.matmul.allow_tf32,
         torch.backends.cudnn.allow_tf32) = tf32
    return 'SE-R50 b16 224px, lean vs lean=False: ' + '; '.join(figures)


def compare_lean(lean, reference, start, dtype, amp):
    """(the largest relative difference over outputs, gradients and BN
    statistics, (peak bytes of lean, of the reference)) of one step."""
    gen = torch.Generator(device='cuda').manual_seed(0)
    x = torch.randn(16, 3, 224, 224, device='cuda', generator=gen,
                    dtype=dtype)
    results = []
    for model in (lean, reference):
        model.load_state_dict(start)  # same weights and BN statistics
        model.to(dtype).train().zero_grad(set_to_none=True)
        inputs = x.clone().requires_grad_()
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        with torch.autocast('cuda', torch.float16, enabled=amp):
            outs = model(inputs)
        gen.manual_seed(1)
        loss = sum((o.to(dtype) * torch.randn(
            o.shape, device='cuda', generator=gen, dtype=dtype)).sum()
            for o in outs)
        loss.backward()
        peak = torch.cuda.max_memory_allocated() - base
        tensors = [o.detach().to(dtype) for o in outs] + [inputs.grad]
        tensors += [p.grad for p in model.parameters()]
        tensors += [b.clone() for b in model.buffers()
                    if b.is_floating_point()]
        results.append((tensors, peak))
    (mine, peak), (ref, ref_peak) = results
    worst = max(((a - b).norm() / b.norm().clamp(min=1e-30)).item()
                for a, b in zip(mine, ref))
    for model in (lean, reference):
        model.float()
    return worst, (peak, ref_peak)


def run_tool(cmd: List[str], timeout: float,
             **env: str) -> subprocess.CompletedProcess:
    """Run ``cmd`` in the repo root; past ``timeout`` seconds its whole
    process group is killed (torchrun's workers too) and the step fails."""
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True,
                            env=dict(os.environ, **env),
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise RuntimeError(f'{" ".join(cmd[:3])}... still running after '
                           f'{timeout:.0f}s: stopped')
    return subprocess.CompletedProcess(cmd, proc.returncode, out, '')


def demo_options(data: str) -> List[str]:
    """--cfg-options pointing the demo config at the COCO data in ``data``."""
    ann = osp.join(data, 'annotations', 'instances_val2017.json')
    roots = [f'{split}_dataloader.dataset.data_root={data}/'
             for split in ('train', 'val', 'test')]
    return roots + [f'val_evaluator.ann_file={ann}',
                    f'test_evaluator.ann_file={ann}']


def amp_step(work_dir: str, data: str) -> str:
    """One AmpOptimWrapper training step of the demo detector on cuda."""
    from mmengine.config import Config, DictAction
    from mmengine.runner import Runner

    import se_plugin  # noqa: F401  (registries)

    cfg = Config.fromfile(osp.join(ROOT, CONFIG))
    parser = argparse.ArgumentParser()
    parser.add_argument('opts', nargs='+', action=DictAction)
    cfg.merge_from_dict(parser.parse_args(demo_options(data)).opts)
    cfg.work_dir = osp.join(work_dir, 'amp')
    cfg.optim_wrapper.type = 'AmpOptimWrapper'
    cfg.optim_wrapper.loss_scale = 'dynamic'
    runner = Runner.from_cfg(cfg)
    model = runner.model
    check(next(model.parameters()).is_cuda, 'the runner did not put the '
          'model on cuda')
    optim = runner.build_optim_wrapper(cfg.optim_wrapper)
    batch = next(iter(runner.build_dataloader(cfg.train_dataloader)))
    # Autocast shows in the first conv's output (fp16); the backbone's own
    # output dtype is reported, not checked.
    conv = next(m for m in model.backbone.modules()
                if isinstance(m, torch.nn.Conv2d))
    dtypes = {}

    def record(name: str):
        def hook(module, inputs, out) -> None:  # None: keeps the output
            out = out[-1] if isinstance(out, (tuple, list)) else out
            dtypes.setdefault(name, out.dtype)
        return hook

    hooks = [conv.register_forward_hook(record('conv')),
             model.backbone.register_forward_hook(record('backbone'))]
    torch.cuda.reset_peak_memory_stats()
    model.train()
    losses = model.train_step(batch, optim)
    for hook in hooks:
        hook.remove()
    loss = losses['loss'].item()
    check(torch.isfinite(losses['loss']).item(), f'loss is {loss}')
    check(dtypes.get('conv') == torch.float16,
          f'the first conv under AMP gave {dtypes.get("conv")}, expected '
          f'torch.float16')
    peak = torch.cuda.max_memory_allocated() / 2**30
    names = {k: str(v).replace('torch.', '') for k, v in dtypes.items()}
    return (f'loss {loss:.3f} finite, first conv {names["conv"]}, backbone '
            f'out {names.get("backbone")}, peak {peak:.2f} GiB (batch '
            f'{cfg.train_dataloader.batch_size})')


def dist_train(work_dir: str, data: str) -> str:
    """tools/dist_train.sh on every GPU for one epoch, NCCL."""
    gpus = torch.cuda.device_count()
    out = osp.join(work_dir, 'dist')
    cmd = ['bash', osp.join(ROOT, 'tools', 'dist_train.sh'), CONFIG,
           str(gpus), '--work-dir', out, '--cfg-options',
           *demo_options(data), 'train_cfg.max_epochs=1',
           'default_hooks.checkpoint.interval=1']
    proc = run_tool(cmd, 600, PYTHON=sys.executable)
    check(proc.returncode == 0,
          f'exit {proc.returncode}: {(proc.stdout + proc.stderr)[-300:]}')
    logs = ''.join(open(p).read() for p in files(out, '*/*.log'))
    # The runner logs its environment and the config (after tools/train.py
    # chose the backend: gloo without CUDA).
    check('Distributed training: True' in logs and "backend='nccl'" in logs,
          f'the run was not distributed with NCCL (logs in {out})')
    rows = [json.loads(line) for p in files(out, '*/vis_data/scalars.json')
            for line in open(p)]
    losses = [r['loss'] for r in rows if 'loss' in r]
    check(bool(losses), 'no loss was logged')
    return (f'{gpus} GPU(s), NCCL, {rows[-1].get("iter", "?")} iters: loss '
            f'{losses[0]:.3f} -> {losses[-1]:.3f}')


def files(folder: str, pattern: str) -> List[str]:
    """Sorted paths under ``folder`` matching ``pattern``."""
    return sorted(glob.glob(osp.join(folder, pattern)))


def benchmark(work_dir: str, *flags: str) -> str:
    """tools/analysis/benchmark.py --device cuda --amp [flags]; its output
    is kept in ``work_dir``."""
    cmd = [sys.executable, 'tools/analysis/benchmark.py', '--device', 'cuda',
           '--amp', '--batch', '32', '--repeats', '5', '--warmup', '2',
           *flags]
    # The repo first, then what the caller's PYTHONPATH holds (a stack
    # installed with pip --target, say).
    path = os.pathsep.join(
        p for p in (ROOT, os.environ.get('PYTHONPATH')) if p)
    proc = run_tool(cmd, 1200, PYTHONPATH=path)
    name = '-'.join(f.strip('-') for f in flags) or 'eager'
    with open(osp.join(work_dir, f'benchmark-{name}.txt'), 'w') as f:
        f.write(proc.stdout + proc.stderr)
    check(proc.returncode == 0,
          f'exit {proc.returncode}: {(proc.stdout + proc.stderr)[-300:]}')
    ours = re.search(r'ours SE-R50\s+([\d.]+)\s+([\d.]+)', proc.stdout)
    ratio = re.search(r'ours SE-R50 / ours R50\s+([\d.]+)\s+([\d.]+)',
                      proc.stdout)
    check(bool(ours and ratio), 'no timings in the benchmark output')
    return (f'SE-R50 b32: infer {ours[1]} ms, train {ours[2]} ms; '
            f'/ R50 {ratio[1]} {ratio[2]}')


def main() -> int:
    """Run the steps and print the table; the exit status (see above)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--work-dir', help='logs and benchmark outputs '
                        '(default: a new temporary folder)')
    parser.add_argument(
        '--skip', nargs='+', default=[],
        choices=['ops', 'lean', 'amp', 'dist', 'bench', 'bench-channels-last',
                 'bench-compile'])
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print(f'gpu_check: no GPU: torch {torch.__version__} (CUDA '
              f'{torch.version.cuda}) sees no CUDA device, so nothing was '
              f'checked. Run this on a GPU machine.')
        return 2
    work_dir = args.work_dir or tempfile.mkdtemp(prefix='gpu_check_')
    os.makedirs(work_dir, exist_ok=True)
    from se_plugin.testing.demo_data import make_coco
    data = make_coco(osp.join(work_dir, 'data', 'coco'))
    steps = [
        ('ops', 'mmcv CUDA ops built', mmcv_cuda),
        ('ops', 'RoIAlign cuda vs cpu', roi_align),
        ('ops', 'NMS cuda vs cpu', nms),
        ('lean', 'lean SE tail vs lean=False', lean_tail),
        ('amp', 'AMP train step, demo Faster R-CNN',
         lambda: amp_step(work_dir, data)),
        ('dist', 'tools/dist_train.sh, NCCL', lambda: dist_train(work_dir,
                                                                 data)),
        ('bench', 'benchmark --amp, eager', lambda: benchmark(work_dir)),
        ('bench-channels-last', 'benchmark --amp --channels-last',
         lambda: benchmark(work_dir, '--channels-last')),
        ('bench-compile', 'benchmark --amp --compile',
         lambda: benchmark(work_dir, '--compile')),
    ]
    names = ', '.join(
        torch.cuda.get_device_name(i)
        for i in range(torch.cuda.device_count()))
    rows = run_steps(steps, args.skip)
    print(f'\ngpu_check on {names}; torch {torch.__version__}; work dir '
          f'{work_dir}\n{table(rows)}')
    return 0 if all(r[1] == 'PASS' for r in rows) else 1


if __name__ == '__main__':
    sys.exit(main())
