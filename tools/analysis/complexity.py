"""Print parameters and GFLOPs (multiply-adds, the paper's unit).

    python tools/analysis/complexity.py [CONFIG ...]

Prints each config's model (built through the registries, as tools/train.py
builds it), then the paper's rows (se_plugin/utils/complexity.py) beside
the paper's numbers.
"""
import argparse

from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope

import se_plugin  # noqa: F401  (registers se_plugin.*)
from se_plugin.utils.classifier import classifier
from se_plugin.utils.complexity import PAPER_ROWS, count_macs, count_params


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('configs', nargs='*', help='config files')
    parser.add_argument(
        '--shape', type=int, nargs=2, default=None, metavar=('H', 'W'),
        help='input size (default: 224 224, or 299 299 for Inception)')
    return parser.parse_args()


def measure(model_cfg: dict, shape) -> tuple:
    model = MODELS.build(model_cfg)
    return count_params(model) / 1e6, count_macs(model, (1, 3, *shape)) / 1e9


def main():
    args = parse_args()
    shape = tuple(args.shape or (224, 224))
    header = (f'{"source":<10} {"model":<24} {"params(M)":>10} {"paper":>6} '
              f'{"GFLOPs":>7} {"paper":>6}')
    print(header)
    print('-' * len(header))
    for config in args.configs:
        cfg = Config.fromfile(config)
        init_default_scope(cfg.get('default_scope', 'mmpretrain'))
        params, gflops = measure(cfg.model, shape)
        name = config.rsplit('/', 1)[-1].removesuffix('.py')
        print(f'{"config":<10} {name[:24]:<24} {params:>10.2f} {"":>6} '
              f'{gflops:>7.3f} {"":>6}')
    init_default_scope('mmpretrain')
    for table, name, backbone, paper_params, paper_gflops in PAPER_ROWS:
        params, gflops = measure(classifier(backbone), shape)
        paper_g = f'{paper_gflops:.2f}' if paper_gflops else '-'
        print(f'{table:<10} {name:<24} {params:>10.2f} '
              f'{paper_params:>6.1f} {gflops:>7.3f} {paper_g:>6}')
    print(f'input 1x3x{shape[0]}x{shape[1]}; GFLOPs = multiply-adds of conv '
          'and linear layers plus SE squeeze and scale.')


if __name__ == '__main__':
    main()
