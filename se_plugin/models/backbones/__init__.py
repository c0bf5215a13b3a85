from .se_cifar_resnet import SECifarResNet, SEWideResNet
from .se_inception import SEBNInception
from .se_inception_resnet import SEInceptionResNetV2
from .se_mobilenet import SEMobileNetV1
from .se_resnet import SEResNet, SEResNeXt
from .se_shufflenet import SEShuffleNetV1
from .se_vgg import SEVGG
from .senet154 import SENet154

__all__ = [
    'SEBNInception', 'SECifarResNet', 'SEInceptionResNetV2', 'SEMobileNetV1',
    'SENet154', 'SEResNeXt', 'SEResNet', 'SEShuffleNetV1', 'SEVGG',
    'SEWideResNet'
]
