"""Print parameters and GFLOPs (multiply-adds, the paper's unit).

    python tools/analysis/complexity.py [CONFIG ...] [--markdown]

Prints each config's model (built through the registries, as tools/train.py
builds it), then every row of the paper's complexity tables
(se_plugin/analysis/complexity.py) beside the paper's numbers.
"""
import argparse

from mmengine.config import Config
from mmengine.registry import init_default_scope

import se_plugin
from se_plugin.analysis.complexity import (PAPER_ROWS, config_input_shape,
                                           format_row, measure, measure_row)
from se_plugin.utils.cli import existing_file, positive_int

COLUMNS = ('table', 'model', 'input', 'params (M)', 'paper', 'GFLOPs',
           'paper')


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('configs', nargs='*', type=existing_file,
                        help='config files')
    parser.add_argument(
        '--shape', type=positive_int, nargs=2, default=None,
        metavar=('H', 'W'),
        help="input size for the configs (default: the config's test crop, "
        '32 for CIFAR, else 224)')
    parser.add_argument(
        '--markdown', action='store_true', help='print a markdown table')
    parser.add_argument(
        '--no-paper', action='store_true', help="skip the paper's rows")
    return parser.parse_args()


def main():
    se_plugin.setup()  # fixes of host defects: se_plugin.compat
    args = parse_args()
    rows = []
    for config in args.configs:
        cfg = Config.fromfile(config)
        init_default_scope(cfg.get('default_scope', 'mmpretrain'))
        shape = tuple(args.shape or config_input_shape(cfg))
        params, gflops = measure(cfg.model, shape)
        name = config.rsplit('/', 1)[-1].removesuffix('.py')
        rows.append(('config', name, 'x'.join(map(str, shape)),
                     f'{params:.2f}', '', f'{gflops:.3f}', ''))
    init_default_scope('mmpretrain')
    for row in [] if args.no_paper else PAPER_ROWS:
        rows.append(format_row(row, *measure_row(row)))
    if args.markdown:
        print('| ' + ' | '.join(COLUMNS) + ' |')
        print('|' + '---|' * len(COLUMNS))
        for row in rows:
            print('| ' + ' | '.join(row) + ' |')
    else:
        widths = [max(len(str(r[i])) for r in rows + [COLUMNS])
                  for i in range(len(COLUMNS))]
        for row in [COLUMNS] + rows:
            print('  '.join(f'{c:<{w}}' if i < 3 else f'{c:>{w}}'
                            for i, (c, w) in enumerate(zip(row, widths))))
    print('\nGFLOPs = multiply-adds of conv and linear layers, plus one op '
          'per element of each residual sum and of each SE input '
          '(se_plugin/analysis/complexity.py).')


if __name__ == '__main__':
    main()
