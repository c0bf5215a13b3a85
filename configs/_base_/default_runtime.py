# What every se_plugin config adds to its host's runtime (mmpretrain's or
# mmdet's default_runtime, which define neither key): the registry import and
# exact resumption (every rank's python/numpy/torch RNG states in the
# checkpoint, so a resumed run draws the same augmentations).
custom_imports = dict(imports=['se_plugin'], allow_failed_imports=False)
custom_hooks = [dict(type='se_plugin.RNGStateHook')]
