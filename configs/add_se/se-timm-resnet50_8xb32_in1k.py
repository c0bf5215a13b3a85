# timm's resnet50 through mmpretrain's TIMMBackbone, SE in the se slot timm
# keeps in every Bottleneck (after bn3), on mmpretrain's ResNet-50 ImageNet
# recipe. From scratch: the paper's sigmoid gate and ratio 16.
#   tools/dist_train.sh configs/add_se/se-timm-resnet50_8xb32_in1k.py 8
_base_ = [
    'mmpretrain::resnet/resnet50_8xb32_in1k.py',
    '../_base_/default_runtime.py',
]

model = dict(
    backbone=dict(
        _delete_=True,
        type='se_plugin.AddSE',
        backbone=dict(
            type='mmpretrain.TIMMBackbone',
            model_name='resnet50',
            pretrained=False),
        ratio=16))
