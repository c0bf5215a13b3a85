"""Convert SE-ResNet/SE-ResNeXt (and plain ResNet) weights to se_plugin.

    python tools/model_converters/convert_senet.py SRC DST
        [--source timm|cadene|mmpretrain|torchvision|auto]
        [--backbone-only] [--out-config PATH]

SRC: a timm (.pth or .safetensors), Cadene pretrainedmodels, mmpretrain or
torchvision checkpoint; it is read weights-only. DST: an se_plugin
classifier checkpoint; with --backbone-only, only the ``backbone.`` keys, for
an mmdet ``init_cfg=dict(type='Pretrained', checkpoint=DST,
prefix='backbone.')``. --out-config writes the classifier config, so that
``mmpretrain.apis.init_model(PATH, DST)`` needs nothing else.
"""
import argparse
import os
import os.path as osp

import torch

from se_plugin.converters.senet import (SOURCES, ConversionError,
                                           config_text, convert, load_weights)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src')
    parser.add_argument('dst')
    parser.add_argument('--source', default='auto',
                        choices=SOURCES + ('auto', ))
    parser.add_argument('--backbone-only', action='store_true')
    parser.add_argument('--out-config')
    args = parser.parse_args()
    try:
        state, model_cfg = convert(load_weights(args.src), args.source)
    except (ConversionError, FileNotFoundError) as e:
        # The message says which file and why; a traceback adds nothing.
        parser.exit(1, f'{parser.prog}: error: {e}\n')
    if args.backbone_only:
        state = {k: v for k, v in state.items() if k.startswith('backbone.')}
    os.makedirs(osp.dirname(osp.abspath(args.dst)), exist_ok=True)
    torch.save({'state_dict': state, 'meta': {'converted_from': args.src}},
               args.dst)
    print(f'{args.dst}: {len(state)} tensors, backbone '
          f'{model_cfg["backbone"]}')
    if args.out_config:
        with open(args.out_config, 'w') as f:
            f.write(config_text(model_cfg, args.src, args.source))
        print(f'{args.out_config}: the classifier config')


if __name__ == '__main__':
    main()
