from .backbones import *  # noqa: F401,F403
from .heads import DropoutLinearClsHead  # noqa: F401
from .hosts import AddSE, add_se  # noqa: F401
from .layers import *  # noqa: F401,F403
