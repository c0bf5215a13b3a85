"""Save a config's freshly initialised model as a checkpoint: the untrained
baseline that tools/test.py scores before training.

    python tools/misc/init_checkpoint.py CONFIG OUT [--seed 0]
"""
import argparse

import torch
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope

import se_plugin


def main():
    se_plugin.setup()  # fixes of host defects: se_plugin.compat
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config')
    parser.add_argument('out')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    cfg = Config.fromfile(args.config)
    init_default_scope(cfg.get('default_scope', 'mmengine'))
    torch.manual_seed(args.seed)
    model = MODELS.build(cfg.model)
    model.init_weights()
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, args.out)
    print(f'initialised {type(model).__name__} saved to {args.out}')


if __name__ == '__main__':
    main()
