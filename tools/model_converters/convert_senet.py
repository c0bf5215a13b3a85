"""Convert SE-ResNet/SE-ResNeXt (and plain ResNet) weights to se_plugin.

    python tools/model_converters/convert_senet.py SRC DST
        [--source timm|cadene|mmpretrain|torchvision|auto]
        [--backbone-only | --detectron2] [--out-config PATH]

SRC: a timm (.pth or .safetensors), Cadene pretrainedmodels, mmpretrain or
torchvision checkpoint, read weights-only; or a published name
(``timm://legacy_seresnet50.in1k``, fetched and hash-checked as for
configs). DST: an se_plugin classifier checkpoint; with --backbone-only,
only the ``backbone.`` keys, for an mmdet ``init_cfg=dict(type='Pretrained',
checkpoint=DST, prefix='backbone.')``; with --detectron2, a Detectron2
checkpoint of the trunk for ``MODEL.WEIGHTS`` (se_plugin.detectron2; it
prints the config keys the weights need). --out-config writes the
classifier config, so that ``mmpretrain.apis.init_model(PATH, DST)`` needs
nothing else.
"""
import argparse
import os
import os.path as osp

import torch

from se_plugin.converters.hub import (WeightsError, file_or_published,
                                      is_published, load_published)
from se_plugin.converters.senet import (SOURCES, ConversionError, config_text,
                                        convert, load_weights)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('src', type=file_or_published)
    parser.add_argument('dst')
    parser.add_argument('--source', default='auto',
                        choices=SOURCES + ('auto', ))
    kind = parser.add_mutually_exclusive_group()
    kind.add_argument('--backbone-only', action='store_true')
    kind.add_argument('--detectron2', action='store_true')
    parser.add_argument('--out-config')
    args = parser.parse_args()
    try:
        if is_published(args.src):
            published = load_published(args.src)
            state = published['state_dict']
            model_cfg = published['meta']['model_cfg']
        else:
            state, model_cfg = convert(load_weights(args.src), args.source)
    except (ConversionError, WeightsError, FileNotFoundError) as e:
        # The message says which file and why; a traceback adds nothing.
        parser.exit(1, f'{parser.prog}: error: {e}\n')
    os.makedirs(osp.dirname(osp.abspath(args.dst)), exist_ok=True)
    if args.detectron2:
        from se_plugin.detectron2.weights import (config_options,
                                                  detectron2_checkpoint,
                                                  save_atomic)
        backbone = model_cfg['backbone']
        save_atomic(detectron2_checkpoint(state, backbone, args.src),
                    args.dst)
        print(f'{args.dst}: Detectron2 checkpoint of backbone {backbone}\n'
              f'its config keys: {" ".join(config_options(backbone))}')
    else:
        if args.backbone_only:
            state = {k: v for k, v in state.items()
                     if k.startswith('backbone.')}
        torch.save({'state_dict': state,
                    'meta': {'converted_from': args.src}}, args.dst)
        print(f'{args.dst}: {len(state)} tensors, backbone '
              f'{model_cfg["backbone"]}')
    if args.out_config:
        os.makedirs(osp.dirname(osp.abspath(args.out_config)), exist_ok=True)
        with open(args.out_config, 'w') as f:
            f.write(config_text(model_cfg, args.src, args.source))
        print(f'{args.out_config}: the classifier config')


if __name__ == '__main__':
    main()
