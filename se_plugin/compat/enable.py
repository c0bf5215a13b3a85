"""Importing this module switches on :func:`se_plugin.compat.setup`.

For configs run by another project's tools (mmdet's, mmpretrain's,
mmseg's ``tools/train.py``), which import ``custom_imports`` but never call
``se_plugin.setup()``::

    custom_imports = dict(
        imports=['se_plugin', 'se_plugin.compat.enable'],
        allow_failed_imports=False)

Its one purpose is this side effect: ``import se_plugin`` has none.
"""
from se_plugin.compat import setup

setup()
