"""Save a config's freshly initialised model as a checkpoint: the untrained
baseline that tools/test.py scores before training.

    python tools/misc/init_checkpoint.py CONFIG OUT [--seed 0]
"""
import argparse
import os
import os.path as osp

import torch
from mmengine.config import Config
from mmengine.registry import MODELS, init_default_scope

import se_plugin
from se_plugin.utils.cli import existing_file


def main():
    se_plugin.setup()  # fixes of host defects: se_plugin.compat
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('config', type=existing_file)
    parser.add_argument('out')
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    cfg = Config.fromfile(args.config)
    init_default_scope(cfg.get('default_scope', 'mmengine'))
    torch.manual_seed(args.seed)
    model = MODELS.build(cfg.model)
    model.init_weights()
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    torch.save({'state_dict': model.state_dict(), 'meta': {}}, args.out)
    print(f'initialised {type(model).__name__} saved to {args.out}')


if __name__ == '__main__':
    main()
