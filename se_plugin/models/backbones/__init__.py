from .se_resnet import SEResNet, SEResNeXt
from .senet154 import SENet154
from .se_inception_resnet import SEInceptionResNetV2
from .se_mobilenet import SEMobileNetV1
from .se_vgg import SEVGG
from .se_inception import SEBNInception
from .se_shufflenet import SEShuffleNetV1
from .se_cifar_resnet import SECifarResNet, SEWideResNet

__all__ = ['SECifarResNet', 'SEWideResNet', 'SEBNInception', 'SEShuffleNetV1', 'SEInceptionResNetV2', 'SEMobileNetV1', 'SEVGG', 'SENet154', 'SEResNet', 'SEResNeXt']
