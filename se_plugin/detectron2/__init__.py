"""se_plugin's SE backbones for Detectron2.

``import se_plugin.detectron2`` (never needed by ``import se_plugin``)
registers in Detectron2's ``BACKBONE_REGISTRY``:

- ``build_se_resnet_fpn_backbone``: Faster/Mask R-CNN's FPN on an SE trunk;
- ``build_se_retinanet_resnet_fpn_backbone``: RetinaNet's (P6/P7 from C5);
- ``build_se_resnet_backbone``: the trunk alone;

and makes published names (``timm://legacy_seresnet50.in1k``) work as
``MODEL.WEIGHTS``. Start from :func:`get_se_cfg`, which adds ``MODEL.SE``
(:func:`add_se_config`) to Detectron2's defaults::

    from se_plugin.detectron2 import get_se_cfg
    cfg = get_se_cfg('configs/detectron2/faster_rcnn_se_R_50_FPN_2x.yaml')
    model = detectron2.modeling.build_model(cfg)
    SECheckpointer(model).load(cfg.MODEL.WEIGHTS)
"""
try:
    import detectron2  # noqa: F401
except ImportError as e:
    raise ImportError(
        'se_plugin.detectron2 needs Detectron2, which is not installed: '
        'install it from its source repository (configs/detectron2/README.md, '
        '"Install"), or '
        'run SE_PLUGIN_DETECTRON2=1 tools/setup_env.sh') from e

from .backbone import (ConfigError, SEResNetBackbone,  # noqa: E402
                       build_se_resnet_backbone, build_se_resnet_fpn_backbone,
                       build_se_retinanet_resnet_fpn_backbone, se_trunk_cfg)
from .config import CfgNode, add_se_config, get_se_cfg, has_compiled_ops
from .weights import (SECheckpointer, check_input_conventions,
                      detectron2_checkpoint, published_checkpoint,
                      register_schemes)

register_schemes()

__all__ = [
    'CfgNode', 'ConfigError', 'SECheckpointer', 'SEResNetBackbone',
    'add_se_config', 'build_se_resnet_backbone',
    'build_se_resnet_fpn_backbone', 'build_se_retinanet_resnet_fpn_backbone',
    'check_input_conventions', 'detectron2_checkpoint', 'get_se_cfg',
    'has_compiled_ops', 'published_checkpoint', 'register_schemes',
    'se_trunk_cfg'
]
