"""se_plugin's model index: each config, its published weights with the
publisher's numbers, parameters and GFLOPs.

Read from ``model-index.yml`` and the ``configs/*/metafile.yml`` it imports
(mmpretrain's format, written by tools/misc/make_model_index.py), with the
``modelindex`` package that mim and mmpretrain's ``ModelHub`` use. Not
registered in mmpretrain's ``ModelHub``: our config names (e.g.
``seresnet50_8xb32_in1k``) are also mmpretrain's, and its hub refuses
duplicate names.
"""
import fnmatch
import os.path as osp
from typing import Dict, List, NamedTuple, Optional

from se_plugin.utils.mim import package_root


class ModelInfo(NamedTuple):
    """One entry of the model index.

    Attributes:
        name: the entry's name: the config's name, or for published weights
            ``<arch>_<publisher>_in1k``.
        config: absolute path of the config file.
        weights: a checkpoint name such as ``'timm://legacy_seresnet50.in1k'``
            (None: no published weights).
        task, dataset: what ``metrics`` were measured on (None: no results).
        metrics: the publisher's accuracy of the published weights; empty
            for a config without weights (the paper's numbers for it are
            in its folder's README).
        results_from: where ``metrics`` come from (the publisher's table
            and protocol); None without weights.
        params: parameters in millions.
        gflops: multiply-adds in G at ``input_size`` (None for detectors).
        input_size: ``'HxW'`` the FLOPs are counted at.
    """
    name: str
    config: str
    weights: Optional[str]
    task: Optional[str]
    dataset: Optional[str]
    metrics: Dict[str, float]
    results_from: Optional[str]
    params: float
    gflops: Optional[float]
    input_size: Optional[str]


def _load() -> List[ModelInfo]:
    from modelindex.load_model_index import load

    root = package_root()
    index = load(osp.join(root, 'model-index.yml'))
    index.build_models_with_collections()
    infos = []
    for model in index.models:
        meta = model.metadata.data
        result = model.results[0] if model.results else None
        flops = meta.get('FLOPs')
        infos.append(
            ModelInfo(
                name=model.name,
                config=osp.join(root, model.config),
                weights=model.weights,
                task=result.task if result else None,
                dataset=result.dataset if result else None,
                metrics=dict(result.metrics) if result else {},
                results_from=meta.get('Results From'),
                params=meta['Parameters'] / 1e6,
                gflops=None if flops is None else flops / 1e9,
                input_size=meta.get('Input Size')))
    return infos


def list_models(pattern: str = '*',
                with_weights: bool = False) -> List[ModelInfo]:
    """se_plugin's models whose name matches ``pattern``.

    Args:
        pattern: a shell-style pattern (``fnmatch``); without a wildcard,
            a substring of the name.
        with_weights: only entries with published weights.

    Returns:
        ModelInfo entries, sorted by name.

    Example:
        >>> import se_plugin
        >>> [(m.name, m.weights, m.metrics['Top 1 Accuracy'])
        ...  for m in se_plugin.list_models('seresnet50', with_weights=True)]
        [('seresnet50_mmpretrain_in1k', 'mmpretrain://seresnet50_8xb32_in1k',
          77.74), ...]
    """
    if not any(c in pattern for c in '*?['):
        pattern = f'*{pattern}*'
    matches = (m for m in _load() if fnmatch.fnmatch(m.name, pattern))
    return sorted((m for m in matches if m.weights or not with_weights),
                  key=lambda m: m.name)
