"""Time SE-ResNet-50 against ResNet-50 and other SE implementations.

    python tools/analysis/benchmark.py [--batch 1 16] [--repeats 15]
    python tools/analysis/benchmark.py --device cuda --batch 256 [--compile]

Models: ours (se_plugin SE-ResNet-50, fused and unfused), our plain twin
(ResNet-50 = SE off), mmpretrain's SEResNet-50 and ResNet-50, and timm's
seresnet50/resnet50 when timm is installed. All are measured in this one
process, interleaved round by round after a warm-up, and each time is the
median over rounds: inference (eval, no grad) and one training step
(forward, backward, SGD step). Ratios are of medians from this run.
"""
import argparse
import platform
import statistics
import time
from typing import Callable, Dict

import torch
import torch.nn as nn
from mmpretrain.models import ResNet, SEResNet

from se_plugin import SEResNet as OurSEResNet


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
        'ours SE-R50 unfused': lambda: Classifier(
            OurSEResNet(depth=50, se_cfg=dict(fused=False))),
        'ours R50': lambda: Classifier(
            OurSEResNet(depth=50, se_stages=(False, ) * 4)),
        'mmpretrain SEResNet-50': lambda: Classifier(SEResNet(depth=50)),
        'mmpretrain ResNet-50': lambda: Classifier(ResNet(depth=50)),
    }
    try:
        import timm
        zoo['timm seresnet50'] = lambda: timm.create_model('seresnet50')
        zoo['timm resnet50'] = lambda: timm.create_model('resnet50')
    except ImportError:
        pass
    return zoo


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


def bench(batch: int, args) -> Dict[str, Dict[str, float]]:
    fmt = torch.channels_last if args.channels_last else torch.contiguous_format
    x = torch.randn(batch, 3, 224, 224, device=args.device).to(
        memory_format=fmt)
    steps = {}
    for name, build in models().items():
        torch.manual_seed(0)
        model = build().to(args.device).to(memory_format=fmt)
        steps[name] = make_steps(model, x, args)
    times = {name: {'infer': [], 'train': []} for name in steps}
    for round_ in range(args.warmup + args.repeats):
        for name, (infer, train) in steps.items():  # interleaved
            for kind, fn in (('infer', infer), ('train', train)):
                t = timed(fn, args.device)
                if round_ >= args.warmup:
                    times[name][kind].append(t)
    return {
        name: {k: statistics.median(v) * 1e3 for k, v in kinds.items()}
        for name, kinds in times.items()
    }


def machine(device: str) -> str:
    if device == 'cuda':
        return torch.cuda.get_device_name()
    return (f'{platform.processor() or platform.machine()}, '
            f'{torch.get_num_threads()} threads')


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--device', default='cpu', choices=['cpu', 'cuda'])
    parser.add_argument('--batch', type=int, nargs='+', default=[1, 16])
    parser.add_argument('--repeats', type=int, default=15)
    parser.add_argument('--warmup', type=int, default=3)
    parser.add_argument('--amp', action='store_true', help='fp16 autocast')
    parser.add_argument('--channels-last', action='store_true')
    parser.add_argument('--compile', action='store_true')
    args = parser.parse_args()
    print(f'torch {torch.__version__} on {machine(args.device)}; '
          f'amp={args.amp} channels_last={args.channels_last} '
          f'compile={args.compile}; median of {args.repeats} interleaved '
          f'rounds after {args.warmup} warm-up')
    for batch in args.batch:
        result = bench(batch, args)
        print(f'\nbatch {batch} at 224x224        infer (ms)  train (ms)')
        for name, t in result.items():
            print(f'  {name:<26} {t["infer"]:>9.1f} {t["train"]:>11.1f}')
        ours = result['ours SE-R50']
        print('  ratios                        infer       train')
        for base in result:
            if base != 'ours SE-R50':
                print(f'  ours SE-R50 / {base:<15} '
                      f'{ours["infer"] / result[base]["infer"]:>6.3f} '
                      f'{ours["train"] / result[base]["train"]:>11.3f}')


if __name__ == '__main__':
    main()
