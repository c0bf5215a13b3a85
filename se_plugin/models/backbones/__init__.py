from .se_resnet import SEResNet, SEResNeXt

__all__ = ['SEResNet', 'SEResNeXt']
