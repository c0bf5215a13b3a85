"""Train or evaluate a Detectron2 model with an se_plugin SE backbone.

Detectron2's standard launcher (its tools/train_net.py: DefaultTrainer,
COCO evaluation, ``launch`` for multi-GPU and multi-machine runs), plus
``import se_plugin.detectron2``: the SE backbones, ``MODEL.SE`` and
published weights as ``MODEL.WEIGHTS``.

    python tools/d2_train_net.py --config-file \\
        configs/detectron2/faster_rcnn_se_R_50_FPN_2x.yaml --num-gpus 8
    python tools/d2_train_net.py --config-file CONFIG --eval-only \\
        MODEL.WEIGHTS output/model_final.pth
    # 2 machines: --num-machines 2 --machine-rank R --dist-url tcp://HOST:PORT

``--coco NAME JSON IMAGES`` registers a COCO-format dataset (repeatable),
for ``DATASETS.TRAIN (NAME,)`` / ``DATASETS.TEST``; Detectron2's built-in
``coco_2017_*`` read ``$DETECTRON2_DATASETS/coco`` (default ./datasets).
"""
import os.path as osp
import weakref

import detectron2.utils.comm as comm
from detectron2.data.datasets import register_coco_instances
from detectron2.engine import (DefaultTrainer, default_argument_parser,
                               default_setup, launch)
from detectron2.evaluation import COCOEvaluator, verify_results

from se_plugin.converters.hub import WeightsError
from se_plugin.detectron2 import (ConfigError, SECheckpointer,
                                  check_input_conventions, get_se_cfg,
                                  has_compiled_ops)


class Trainer(DefaultTrainer):
    """DefaultTrainer with se_plugin's checkpointer and COCO evaluation."""

    def __init__(self, cfg):
        super().__init__(cfg)
        # resume_or_load goes through self.checkpointer: se_plugin's refuses
        # SE weights that do not fit (DetectionCheckpointer only logs).
        self.checkpointer = SECheckpointer(
            self._trainer.model, cfg.OUTPUT_DIR, trainer=weakref.proxy(self))

    @classmethod
    def build_evaluator(cls, cfg, dataset_name, output_folder=None):
        output_folder = output_folder or osp.join(cfg.OUTPUT_DIR, 'inference')
        # The fast evaluator is Detectron2's C++ COCOeval; without compiled
        # ops (the pure-Python install) pycocotools' evaluates.
        return COCOEvaluator(dataset_name, output_dir=output_folder,
                             use_fast_impl=has_compiled_ops())


def setup(args):
    for name, json_file, image_root in args.coco or ():
        register_coco_instances(name, {}, json_file, image_root)
    cfg = get_se_cfg(args.config_file, args.opts)
    check_input_conventions(cfg)
    cfg.freeze()
    default_setup(cfg, args)
    return cfg


def main(args):
    cfg = setup(args)
    if args.eval_only:
        model = Trainer.build_model(cfg)
        SECheckpointer(model, save_dir=cfg.OUTPUT_DIR).resume_or_load(
            cfg.MODEL.WEIGHTS, resume=args.resume)
        res = Trainer.test(cfg, model)
        if comm.is_main_process():
            verify_results(cfg, res)
        return res
    trainer = Trainer(cfg)
    trainer.resume_or_load(resume=args.resume)
    return trainer.train()


def parse_args(argv=None):
    parser = default_argument_parser(epilog=__doc__)
    parser.add_argument(
        '--coco', nargs=3, action='append', metavar=('NAME', 'JSON', 'IMAGES'),
        help='register a COCO-format dataset NAME (repeatable)')
    args = parser.parse_args(argv)
    if args.config_file and not osp.isfile(args.config_file):
        parser.error(f'--config-file {args.config_file} does not exist')
    for name, json_file, image_root in args.coco or ():
        for path, what, exists in ((json_file, 'annotation file', osp.isfile),
                                   (image_root, 'image folder', osp.isdir)):
            if not exists(path):
                parser.error(f'--coco {name}: {what} {path} does not exist')
    return parser, args


if __name__ == '__main__':
    parser, args = parse_args()
    print('Command Line Args:', args)
    try:
        # Spawned workers run main() -> setup(), which registers --coco in
        # each (Detectron2's dataset catalog is per process).
        launch(main, args.num_gpus, num_machines=args.num_machines,
               machine_rank=args.machine_rank, dist_url=args.dist_url,
               args=(args, ))
    except (ConfigError, WeightsError) as e:
        # The message names the config key or the weights and what is
        # wrong; the trace through Detectron2's builders adds nothing.
        parser.exit(1, f'{parser.prog}: error: {e}\n')
