# mmseg's PSPNet with a dilated ResNetV1c-50, SE after each bottleneck's
# norm3. mmseg's recipe and its model-level pretrained= ImageNet weights
# (open-mmlab://resnet50_v1c, which AddSE passes to ResNetV1c as its
# init_cfg) are inherited; SE starts at a scale of exactly 1.
#   tools/dist_train.sh \
#       configs/add_se/pspnet_se_r50-d8_4xb2-40k_cityscapes-512x1024.py 4
_base_ = [
    'mmseg::pspnet/pspnet_r50-d8_4xb2-40k_cityscapes-512x1024.py',
    '../_base_/default_runtime.py',
]

model = dict(
    backbone=dict(
        type='se_plugin.AddSE',
        host='ResNetV1c',  # the inherited backbone's type
        ratio=16,
        identity_init=True))
