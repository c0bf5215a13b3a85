"""Classify an image, or detect objects in it, with one command.

    python tools/image_demo.py IMAGE CONFIG [--weights NAME_OR_FILE]
        [--topk 5] [--out-file boxes.jpg] [--score-thr 0.3] [--device cpu]

CONFIG: a classifier config (mmpretrain's ImageClassificationInferencer:
prints the top-k classes), a detector config (mmdet's DetInferencer: prints
the boxes and draws them to --out-file), or a published name
(timm://legacy_seresnet50.in1k): the classifier its weights describe.
--weights: a checkpoint file or a published name; a published name given to
a detector initialises its backbone only (the heads stay untrained).

    python tools/image_demo.py grace_hopper.jpg timm://legacy_seresnet50.in1k
"""
import argparse
import warnings

import mmcv
import numpy as np
import torch

import se_plugin
from se_plugin.apis import (is_detector, load_model_config,
                            with_backbone_weights)
from se_plugin.converters.hub import (check_conventions, file_or_published,
                                      is_published)
from se_plugin.utils.cli import (UsageError, existing_file,
                                 exits_on_usage_error, positive_int,
                                 unit_float)


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('image', type=existing_file, help='image file')
    parser.add_argument('config', type=file_or_published,
                        help='config file or published name')
    parser.add_argument('--weights', type=file_or_published,
                        help='checkpoint file or published name')
    parser.add_argument('--topk', type=positive_int, default=5,
                        help='classes to print (classifiers)')
    parser.add_argument('--out-file', default='image_demo_boxes.jpg',
                        help='where detectors draw their boxes')
    parser.add_argument('--score-thr', type=unit_float, default=0.3,
                        help='lowest box score to print and draw (0 to 1)')
    parser.add_argument('--device', default='cpu')
    args = parser.parse_args()
    if args.device.startswith('cuda') and not torch.cuda.is_available():
        parser.error(f'--device {args.device}: torch sees no CUDA device '
                     'here; use --device cpu')
    return args


def classify(args) -> None:
    from mmpretrain.apis import ImageClassificationInferencer
    model = se_plugin.get_model(args.config, args.weights, args.device)
    inferencer = ImageClassificationInferencer(model, device=args.device)
    scores = inferencer(args.image)[0]['pred_scores']
    classes = inferencer.classes or [str(i) for i in range(len(scores))]
    for rank, index in enumerate(np.argsort(-scores)[:args.topk], 1):
        print(f'{rank}. {index:4d} {scores[index]:.6f} {classes[index]}')


def detect(args, cfg) -> None:
    from mmdet.apis import DetInferencer
    weights = args.weights
    if weights is not None and is_published(weights):
        check_conventions(cfg.model.backbone, weights)
        cfg = with_backbone_weights(cfg, weights)
        warnings.warn(f'{weights} is an ImageNet classifier: it starts the '
                      'backbone, the detection heads stay untrained')
        inferencer = DetInferencer(cfg, weights=None, device=args.device,
                                   show_progress=False)
        inferencer.model.init_weights()
    else:
        inferencer = DetInferencer(cfg, weights=weights, device=args.device,
                                   show_progress=False)
    result = inferencer(args.image, return_vis=True, no_save_vis=True,
                        pred_score_thr=args.score_thr)
    pred = result['predictions'][0]
    classes = inferencer.model.dataset_meta['classes']
    kept = [i for i, s in enumerate(pred['scores']) if s >= args.score_thr]
    for i in kept:
        box = ' '.join(f'{v:.1f}' for v in pred['bboxes'][i])
        print(f'{classes[pred["labels"][i]]} {pred["scores"][i]:.6f} {box}')
    # The visualizer draws in RGB; mmcv writes BGR.
    mmcv.imwrite(result['visualization'][0][..., ::-1], args.out_file)
    print(f'{len(kept)} boxes with score >= {args.score_thr} drawn to '
          f'{args.out_file}')


@exits_on_usage_error
def main():
    se_plugin.setup()  # fixes of host defects: se_plugin.compat
    args = parse_args()
    if mmcv.imread(args.image) is None:
        raise UsageError(f'image: {args.image} is not an image OpenCV can '
                         'decode')
    cfg = load_model_config(args.config)
    if is_detector(cfg):
        detect(args, cfg)
    else:
        classify(args)


if __name__ == '__main__':
    main()
