from .se_resnet import SEResNet, SEResNeXt
from .senet154 import SENet154

__all__ = ['SENet154', 'SEResNet', 'SEResNeXt']
