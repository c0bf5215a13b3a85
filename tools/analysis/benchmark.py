"""Time and size SE-ResNet-50 against ResNet-50 and other SE implementations.

    python tools/analysis/benchmark.py [--batch 1 16] [--repeats 15]
    python tools/analysis/benchmark.py --device cuda --batch 256 [--compile]
    python tools/analysis/benchmark.py --batch 8 --repeats 5 --warmup 1 \\
        --models 'ours SE-R50' 'ours R50' --detector

Models: ours (se_plugin SE-ResNet-50: lean, not lean, unfused), our plain
twin (ResNet-50 = SE off), mmpretrain's SEResNet-50 and ResNet-50, and
timm's seresnet50/resnet50 when timm is installed. All are measured in this
one process, interleaved round by round after a warm-up: inference (eval, no
grad) and one training step (forward, backward, SGD step). Times are medians
over rounds; the train-step ratio is the median of the per-round ratios,
with their range (the spread). Ratios are of figures from this run.

Memory table (``--memory-batch``): the bytes autograd saves for backward in
one training forward, unique storages (se_plugin.analysis.memory), counted
on the ``meta`` device (no compute, deterministic) for each model and its
plain twin, SE-ResNeXt-50 and SENet-154 included, and the zoo members
without the lean tail (CIFAR ResNets, WRN, Inception-ResNet-v2); with
``--rss``, the peak resident memory of a fresh process running one training
step on the CPU (noisy). ``--detector``: Faster R-CNN SE-R50 against its R50
twin at the demo's size (configs/demo/faster_rcnn_se_r50_2x_demo.py): saved
bytes and seconds per training iteration.
"""
import argparse
import multiprocessing
import platform
import statistics
import time
from typing import Callable, Dict, List

import torch
import torch.nn as nn
from mmpretrain.models import ResNet, SEResNet

from se_plugin import SENet154
from se_plugin import SEResNet as OurSEResNet
from se_plugin import SEResNeXt
from se_plugin.analysis.memory import peak_rss_bytes, saved_tensor_bytes
from se_plugin.utils.cli import nonnegative_int, positive_int

DETECTOR_CONFIG = 'configs/demo/faster_rcnn_se_r50_2x_demo.py'
PLAIN = dict(se_stages=(False, ) * 4)


class Classifier(nn.Module):
    """Backbone + global pool + 1000-way FC, as every model is timed."""

    def __init__(self, backbone: nn.Module, channels: int = 2048):
        super().__init__()
        self.backbone = backbone
        self.fc = nn.Linear(channels, 1000)

    def forward(self, x):
        feat = self.backbone(x)
        feat = feat[-1] if isinstance(feat, tuple) else feat
        return self.fc(feat.mean((2, 3)))


def models() -> Dict[str, Callable[[], nn.Module]]:
    zoo = {
        'ours SE-R50': lambda: Classifier(OurSEResNet(depth=50)),
        'ours SE-R50 not lean': lambda: Classifier(
            OurSEResNet(depth=50, se_cfg=dict(lean=False))),
        'ours SE-R50 unfused': lambda: Classifier(
            OurSEResNet(depth=50, se_cfg=dict(fused=False))),
        'ours R50': lambda: Classifier(OurSEResNet(depth=50, **PLAIN)),
        'mmpretrain SEResNet-50': lambda: Classifier(SEResNet(depth=50)),
        'mmpretrain ResNet-50': lambda: Classifier(ResNet(depth=50)),
    }
    try:
        import timm
        zoo['timm seresnet50'] = lambda: timm.create_model(
            'seresnet50', pretrained=False)
        zoo['timm resnet50'] = lambda: timm.create_model(
            'resnet50', pretrained=False)
    except ImportError:
        pass
    return zoo


def memory_models() -> Dict[str, Callable[[], nn.Module]]:
    """The models of the memory table: every SE model and its plain twin."""
    zoo = models()
    zoo.update({
        'ours SE-ResNeXt-50': lambda: Classifier(SEResNeXt(depth=50)),
        'ours SE-ResNeXt-50 not lean': lambda: Classifier(
            SEResNeXt(depth=50, se_cfg=dict(lean=False))),
        'ours ResNeXt-50': lambda: Classifier(SEResNeXt(depth=50, **PLAIN)),
        'ours SENet-154': lambda: Classifier(SENet154()),
        'ours SENet-154 not lean': lambda: Classifier(
            SENet154(se_cfg=dict(lean=False))),
        'ours SENet-154 plain': lambda: Classifier(SENet154(**PLAIN)),
    })
    return zoo


# (SE model, its plain twin) rows of the memory table.
TWINS = (
    ('ours SE-R50', 'ours R50'),
    ('ours SE-R50 not lean', 'ours R50'),
    ('mmpretrain SEResNet-50', 'mmpretrain ResNet-50'),
    ('timm seresnet50', 'timm resnet50'),
    ('ours SE-ResNeXt-50', 'ours ResNeXt-50'),
    ('ours SE-ResNeXt-50 not lean', 'ours ResNeXt-50'),
    ('ours SENet-154', 'ours SENet-154 plain'),
    ('ours SENet-154 not lean', 'ours SENet-154 plain'),
)
# Zoo members without the lean tail (their SE scales a conv output):
# name, se_plugin backbone, its arguments, SE stages, batch, input size.
NOT_LEAN = (
    ('SE-ResNet-110 (CIFAR)', 'SECifarResNet', dict(depth=110), 3, 128, 32),
    ('SE-ResNet-164 (CIFAR)', 'SECifarResNet', dict(depth=164), 3, 128, 32),
    ('SE-WRN-16-8', 'SEWideResNet', {}, 3, 128, 32),
    ('SE-Inception-ResNet-v2', 'SEInceptionResNetV2', {}, 3, 8, 299),
)
RSS_MODELS = ('ours SE-R50', 'ours SE-R50 not lean', 'ours R50',
              'mmpretrain SEResNet-50', 'timm seresnet50')


def sync(device: str) -> None:
    if device == 'cuda':
        torch.cuda.synchronize()


def make_steps(model: nn.Module, x: torch.Tensor, args) -> tuple:
    amp = torch.autocast('cuda', torch.float16, enabled=args.amp)
    opt = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)
    target = torch.randint(0, 1000, (x.shape[0], ), device=x.device)
    run = torch.compile(model) if args.compile else model
    scaler = torch.amp.GradScaler(enabled=args.amp)

    def infer():
        model.eval()
        with torch.no_grad(), amp:
            run(x)

    def train():
        model.train()
        with amp:
            loss = nn.functional.cross_entropy(run(x), target)
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()

    return infer, train


def timed(fn: Callable, device: str) -> float:
    sync(device)
    start = time.perf_counter()
    fn()
    sync(device)
    return time.perf_counter() - start


def interleaved(steps: Dict[str, Callable], args) -> Dict[str, List[float]]:
    """Seconds of each step per round, rounds after the warm-up."""
    times = {name: [] for name in steps}
    for round_ in range(args.warmup + args.repeats):
        for name, fn in steps.items():
            t = timed(fn, args.device)
            if round_ >= args.warmup:
                times[name].append(t)
    return times


def bench(batch: int, args) -> Dict[str, List[float]]:
    """Per-round seconds of ``'<model> infer'`` and ``'<model> train'``."""
    fmt = (torch.channels_last
           if args.channels_last else torch.contiguous_format)
    x = torch.randn(batch, 3, 224, 224, device=args.device).to(
        memory_format=fmt)
    steps = {}
    for name, build in models().items():
        if args.models and name not in args.models:
            continue
        torch.manual_seed(0)
        model = build().to(args.device).to(memory_format=fmt)
        steps[f'{name} infer'], steps[f'{name} train'] = make_steps(
            model, x, args)
    return interleaved(steps, args)


def ratio_text(ours: List[float], base: List[float]) -> str:
    """Median of the per-round ratios and their range."""
    ratios = [a / b for a, b in zip(ours, base)]
    return (f'{statistics.median(ratios):.3f} '
            f'[{min(ratios):.3f}, {max(ratios):.3f}]')


def print_times(batch: int, times: Dict[str, List[float]]) -> None:
    names = [k[:-len(' infer')] for k in times if k.endswith(' infer')]
    print(f'\nbatch {batch} at 224x224          infer (ms)  train (ms)')
    for name in names:
        print(f'  {name:<28} '
              f'{statistics.median(times[name + " infer"]) * 1e3:>9.1f} '
              f'{statistics.median(times[name + " train"]) * 1e3:>11.1f}')
    if 'ours SE-R50' not in names:
        return
    print('  ratios (median [min, max] of rounds)   infer'
          '                  train')
    for base in names:
        if base != 'ours SE-R50':
            print(f'  ours SE-R50 / {base:<24} '
                  + ratio_text(times['ours SE-R50 infer'],
                               times[base + ' infer']) + '   '
                  + ratio_text(times['ours SE-R50 train'],
                               times[base + ' train']))


def saved_mib(build: Callable[[], nn.Module], batch: int,
              device: str = 'meta', size: int = 224) -> float:
    """MiB autograd saves in one training forward at ``batch`` x size."""
    torch.manual_seed(0)
    model = build().to(device).train()
    x = torch.randn(batch, 3, size, size, device=device)
    return saved_tensor_bytes(lambda: model(x))[0] / 2**20


def rss_child(name: str, batch: int, queue) -> None:
    """One training step in a fresh process: (RSS before, peak) in MiB."""
    torch.manual_seed(0)
    model = models()[name]().train()
    x = torch.randn(batch, 3, 224, 224)
    before = _rss_now()
    model(x).square().mean().backward()
    queue.put((before / 2**20, peak_rss_bytes() / 2**20))


def _rss_now() -> int:
    with open('/proc/self/statm') as f:
        return int(f.read().split()[1]) * 4096


def peak_rss(name: str, batch: int) -> tuple:
    ctx = multiprocessing.get_context('spawn')
    queue = ctx.Queue()
    proc = ctx.Process(target=rss_child, args=(name, batch, queue))
    proc.start()
    result = queue.get()
    proc.join()
    return result


def print_memory(args) -> None:
    zoo = memory_models()
    saved = {}
    print(f'\nsaved for backward, one training forward, batch '
          f'{args.memory_batch} at 224x224 (MiB, unique storages, meta '
          'device)')
    print(f'  {"model":<28} {"saved":>8}  {"plain twin":<22} {"saved":>8}'
          '  ratio')
    for se_name, plain_name in TWINS:
        if se_name not in zoo:
            continue  # timm missing
        for name in (se_name, plain_name):
            if name not in saved:
                saved[name] = saved_mib(zoo[name], args.memory_batch)
        print(f'  {se_name:<28} {saved[se_name]:>8.1f}  {plain_name:<22} '
              f'{saved[plain_name]:>8.1f}  '
              f'{saved[se_name] / saved[plain_name]:.3f}')
    import se_plugin
    print('  not lean (SE on a conv output), backbone only:')
    for name, cls, kwargs, stages, batch, size in NOT_LEAN:
        backbone = getattr(se_plugin, cls)
        se, plain = (saved_mib(lambda k=k: backbone(**kwargs, **k), batch,
                               size=size)
                     for k in ({}, dict(se_stages=(False, ) * stages)))
        print(f'  {name:<28} {se:>8.1f}  plain, batch {batch} at {size:<4} '
              f'{plain:>8.1f}  {se / plain:.3f}')
    if not args.rss:
        return
    print(f'\npeak RSS of a fresh process, one training step on the CPU, '
          f'batch {args.memory_batch} (MiB; noisy)')
    print(f'  {"model":<28} {"before step":>11} {"peak":>8} {"step":>8}')
    rows = {}
    for name in RSS_MODELS:
        if name in zoo:
            before, peak = peak_rss(name, args.memory_batch)
            rows[name] = peak - before
            print(f'  {name:<28} {before:>11.0f} {peak:>8.0f} '
                  f'{peak - before:>8.0f}')
    print(f'  step ours SE-R50 / ours R50: '
          f'{rows["ours SE-R50"] / rows["ours R50"]:.3f}')


def detector_steps(args) -> tuple:
    """The demo detector, SE and plain: training steps and saved MiB."""
    from mmdet.testing import demo_mm_inputs
    from mmengine.config import Config
    from mmengine.registry import init_default_scope

    from se_plugin.registry import MODELS
    cfg = Config.fromfile(DETECTOR_CONFIG)
    init_default_scope('mmdet')
    scale = cfg.train_pipeline[2]['scale']
    batch = cfg.train_dataloader.batch_size
    steps, saved = {}, {}
    for name, backbone in (('Faster R-CNN SE-R50', {}),
                           ('Faster R-CNN R50', PLAIN)):
        model_cfg = cfg.model.copy()
        model_cfg.backbone = dict(cfg.model.backbone, **backbone)
        torch.manual_seed(0)
        model = MODELS.build(model_cfg).train()
        torch.manual_seed(0)
        packed = demo_mm_inputs(batch, [(3, *scale)] * batch,
                                num_items=[3] * batch, num_classes=3)
        data = model.data_preprocessor(packed, True)
        opt = torch.optim.SGD(model.parameters(), lr=1e-4, momentum=0.9)

        def loss(model=model, data=data):
            losses = model(**data, mode='loss')
            return sum(v if torch.is_tensor(v) else sum(v)
                       for k, v in losses.items() if 'loss' in k)

        def step(loss=loss, opt=opt):
            opt.zero_grad(set_to_none=True)
            loss().backward()
            opt.step()

        torch.manual_seed(0)
        saved[name] = saved_tensor_bytes(loss)[0] / 2**20
        steps[name] = step
    return steps, saved, batch, scale


def print_detector(args) -> None:
    steps, saved, batch, scale = detector_steps(args)
    times = interleaved(steps, args)
    print(f'\n{DETECTOR_CONFIG}: batch {batch} at {scale[0]}x{scale[1]}, '
          'training')
    print(f'  {"model":<22} {"saved (MiB)":>12} {"s / iter":>9}')
    for name in steps:
        print(f'  {name:<22} {saved[name]:>12.1f} '
              f'{statistics.median(times[name]):>9.3f}')
    se, plain = steps
    print(f'  SE-R50 / R50: saved {saved[se] / saved[plain]:.3f}, '
          f's / iter {ratio_text(times[se], times[plain])}')


def machine(device: str) -> str:
    if device == 'cuda':
        return torch.cuda.get_device_name()
    return (f'{platform.processor() or platform.machine()}, '
            f'{torch.get_num_threads()} threads')


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    parser.add_argument('--batch', type=positive_int, nargs='*',
                        default=[1, 16],
                        help='batch sizes of the time table (none: skip)')
    parser.add_argument('--models', nargs='+', default=None,
                        help='time only these models (names as printed)')
    parser.add_argument('--repeats', type=positive_int, default=15)
    parser.add_argument('--warmup', type=nonnegative_int, default=3)
    parser.add_argument('--amp', action='store_true', help='fp16 autocast')
    parser.add_argument('--channels-last', action='store_true')
    parser.add_argument('--compile', action='store_true')
    parser.add_argument('--memory-batch', type=nonnegative_int, default=8,
                        help='batch of the memory table (0: skip it)')
    parser.add_argument('--rss', action='store_true',
                        help='peak RSS of one CPU training step per model')
    parser.add_argument('--detector', action='store_true',
                        help='Faster R-CNN SE-R50 / R50 at the demo size')
    parser.add_argument('--threads', type=positive_int, default=None,
                        help='CPU threads (1 is steadier on a busy machine)')
    args = parser.parse_args()
    unknown = sorted(set(args.models or ()) - set(models()))
    if unknown:
        parser.error(f'--models: {unknown} are not among the models '
                     f'({", ".join(map(repr, models()))})')
    if args.device == 'cuda' and not torch.cuda.is_available():
        parser.error('--device cuda: torch sees no CUDA device here')
    if args.amp and args.device != 'cuda':
        parser.error('--amp: fp16 autocast runs on --device cuda only')
    if args.threads:
        torch.set_num_threads(args.threads)
    print(f'torch {torch.__version__} on {machine(args.device)}; '
          f'amp={args.amp} channels_last={args.channels_last} '
          f'compile={args.compile}; median of {args.repeats} interleaved '
          f'rounds after {args.warmup} warm-up')
    if args.memory_batch:
        print_memory(args)
    for batch in args.batch:
        print_times(batch, bench(batch, args))
    if args.detector:
        print_detector(args)


if __name__ == '__main__':
    main()
