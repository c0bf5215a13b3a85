"""The excitations of every SE block, per class (Section 7.2, Fig. 6 and 7).

:class:`ExcitationRecorder` records the channel weights s of every
:class:`SELayer` of a model with forward pre-hooks (the model is not
edited); :class:`ExcitationStats` keeps, per block and class, the image
count and the sum and squared sum of s, so that a run over a whole
validation set needs memory for the statistics only. Blocks are named as in
the paper, ``SE_stageID_blockID`` (:func:`block_names`).
"""
import math
from collections import defaultdict
from typing import Dict, List, NamedTuple, Optional, Sequence

import numpy as np
import torch
import torch.nn as nn

from se_plugin.models.layers.se_layer import SELayer


class ExcitationRecorder:
    """Record every SE layer's excitation s during a forward pass.

    A context manager: inside it, each forward of ``model`` leaves in
    :attr:`batch` one (N, C) float tensor per SE layer (by module name, in
    the order the layers ran) and in :attr:`sizes` the (H, W) of the map
    each layer scaled. For ``squeeze='none'`` (NoSqueeze) s is averaged
    over positions.

    Args:
        model: A model holding at least one :class:`SELayer`.

    Example:
        >>> se = SELayer(8)
        >>> with ExcitationRecorder(nn.Sequential(se)) as rec:
        ...     _ = rec.model(torch.rand(2, 8, 4, 4))
        >>> rec.batch['0'].shape, rec.sizes['0']
        (torch.Size([2, 8]), (4, 4))
    """

    def __init__(self, model: nn.Module) -> None:
        self.model = model
        self.layers = {
            name: m for name, m in model.named_modules()
            if isinstance(m, SELayer)
        }
        if not self.layers:
            raise ValueError(f'{type(model).__name__} has no SELayer: the '
                             'excitation analysis needs an SE model')
        self.batch: Dict[str, torch.Tensor] = {}
        self.sizes: Dict[str, tuple] = {}
        self._handles = []

    def _hook(self, name: str):

        def record(module: SELayer, args: tuple) -> None:
            # SELayer.forward calls self.excite as a plain method, which no
            # module hook sees, and the fused residual path overwrites its
            # input in place; so s is recomputed here from the input before
            # forward runs. The extra work is the squeeze and the two FCs:
            # ~0.3% of an SE-ResNet-50 forward (3.87 vs 3.86 GFLOPs, Table 16).
            x = args[0]
            s = module.excite(x)
            self.batch[name] = s.float().mean((2, 3))
            self.sizes.setdefault(name, tuple(x.shape[-2:]))

        return record

    def __enter__(self) -> 'ExcitationRecorder':
        self._handles = [
            m.register_forward_pre_hook(self._hook(name))
            for name, m in self.layers.items()
        ]
        return self

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles = []


def block_names(module_names: Sequence[str], sizes: Dict[str, tuple],
                input_size: Sequence[int]) -> Dict[str, str]:
    """Name SE layers ``SE_stageID_blockID`` as the paper's Fig. 6 and 7.

    The stage ID is log2 of the output stride of the map the layer scales
    (``input_size`` over its size, rounded), which is the paper's numbering
    of SE-ResNet-50: conv2_x at stride 4 is stage 2, ..., conv5_x at stride
    32 is stage 5 (SE_2_3 ... SE_5_3); the same rule numbers every other
    backbone (e.g. MobileNet's block 1, at stride 2, is SE_1_1; VGG's first,
    full-resolution conv group is stage 0). The block ID counts SE layers
    from 1 within a stage, in forward order. Inputs must be large enough
    that no two stages shrink to the same size.

    Args:
        module_names: SE module names in the order they ran.
        sizes: (H, W) of the map each scaled.
        input_size: (H, W) of the model input.

    Example:
        >>> block_names(['a', 'b', 'c'], {'a': (56, 56), 'b': (56, 56),
        ...                               'c': (28, 28)}, (224, 224))
        {'a': 'SE_2_1', 'b': 'SE_2_2', 'c': 'SE_3_1'}
    """
    counts = defaultdict(int)
    names = {}
    for module in module_names:
        stride = input_size[0] / sizes[module][0]
        stage = round(math.log2(stride))
        counts[stage] += 1
        names[module] = f'SE_{stage}_{counts[stage]}'
    return names


def stage_ends(names: Sequence[str]) -> List[str]:
    """The last block of each stage (immediately before downsampling, as
    the paper draws in Fig. 6), in forward order."""
    last = {}
    for name in names:
        last[name.split('_')[1]] = name
    return list(last.values())


class BlockSummary(NamedTuple):
    """What the paper reads off Fig. 6 for one block.

    ``between``/``within``: RMS over channels of the spread of the class
    means and of the within-class standard deviation; ``specificity`` is
    ``(between / within) ** 2``, NaN when both are 0 (e.g. a constant
    gate); ``saturation``: the share of (class, channel) means at or above
    the threshold.
    """
    name: str
    module: str
    channels: int
    mean: float
    within: float
    between: float
    specificity: float
    saturation: float


class ExcitationStats:
    """Per block and class: image count, mean and std of s over images.

    Args:
        class_names: Names of every label index of the dataset.
    """

    def __init__(self, class_names: Sequence[str]) -> None:
        self.class_names = list(class_names)
        self.modules: List[str] = []  # forward order
        self.names: Dict[str, str] = {}  # module -> SE_stage_block
        self._count = defaultdict(int)  # label -> images
        self._sum: Dict[str, Dict[int, torch.Tensor]] = {}
        self._sq: Dict[str, Dict[int, torch.Tensor]] = {}

    def update(self, labels: torch.Tensor, recorder: ExcitationRecorder,
               input_size: Sequence[int]) -> None:
        """Add one batch: ``labels`` (N, ) and what ``recorder`` holds."""
        if not self.modules:
            self.modules = list(recorder.batch)
            self.names = block_names(self.modules, recorder.sizes, input_size)
        if set(recorder.batch) != set(self.modules):
            raise RuntimeError('the SE layers that ran changed between '
                               f'batches: {sorted(recorder.batch)}')
        for label in labels.unique().tolist():
            rows = labels == label
            self._count[label] += int(rows.sum())
            for module, s in recorder.batch.items():
                s = s[rows].double()
                sums = self._sum.setdefault(module, {})
                sqs = self._sq.setdefault(module, {})
                sums[label] = sums.get(label, 0) + s.sum(0)
                sqs[label] = sqs.get(label, 0) + (s * s).sum(0)

    @property
    def labels(self) -> List[int]:
        """Label indices seen, ascending."""
        return sorted(self._count)

    @property
    def blocks(self) -> List[str]:
        """Block names (SE_stage_block), in forward order."""
        return [self.names[m] for m in self.modules]

    def module_of(self, block: str) -> str:
        """The module name of ``block``."""
        for module, name in self.names.items():
            if name == block:
                return module
        raise KeyError(block)

    def counts(self) -> np.ndarray:
        """Images per seen class, (K, )."""
        return np.array([self._count[k] for k in self.labels])

    def mean_std(self, block: str) -> tuple:
        """(K, C) mean and population std of s over each class's images."""
        module = self.module_of(block)
        n = torch.tensor(self.counts(), dtype=torch.float64)[:, None]
        sums = torch.stack([self._sum[module][k] for k in self.labels])
        sqs = torch.stack([self._sq[module][k] for k in self.labels])
        mean = sums / n
        var = (sqs / n - mean * mean).clamp_(min=0)
        return mean.numpy(), var.sqrt().numpy()

    def summary(self, threshold: float = 0.9) -> List[BlockSummary]:
        """One :class:`BlockSummary` per block, in forward order."""
        rows = []
        for block in self.blocks:
            mean, std = self.mean_std(block)
            between = float(np.sqrt(mean.var(0).mean()))
            within = float(np.sqrt((std**2).mean()))
            ratio = (between / within)**2 if within > 0 else (
                math.inf if between > 0 else math.nan)
            rows.append(BlockSummary(
                block, self.module_of(block), mean.shape[1],
                float(mean.mean()), within, between, ratio,
                float((mean >= threshold).mean())))
        return rows

    def arrays(self) -> Dict[str, np.ndarray]:
        """Everything as arrays, for ``np.savez``: ``labels``,
        ``class_names``, ``counts``, ``blocks``, ``modules`` and
        ``mean/<block>``, ``std/<block>`` of shape (K, C)."""
        out = dict(
            labels=np.array(self.labels),
            class_names=np.array([self.class_names[k] for k in self.labels]),
            counts=self.counts(),
            blocks=np.array(self.blocks),
            modules=np.array(self.modules))
        for block in self.blocks:
            out[f'mean/{block}'], out[f'std/{block}'] = self.mean_std(block)
        return out


def _gt_labels(data_samples: Sequence) -> torch.Tensor:
    labels = []
    for sample in data_samples:
        label = getattr(sample, 'gt_label', None)
        if label is None or torch.as_tensor(label).numel() != 1:
            raise ValueError('the excitation analysis needs single-label '
                             'classification samples (one gt_label each), '
                             f'got {type(sample).__name__}')
        labels.append(int(torch.as_tensor(label).reshape(-1)[0]))
    return torch.tensor(labels)


@torch.no_grad()
def collect_excitations(model: nn.Module,
                        dataloader,
                        class_names: Sequence[str],
                        progress: Optional[object] = None) -> ExcitationStats:
    """Run ``model`` (eval mode) over ``dataloader`` and gather per-class
    excitation statistics of every SE layer.

    Args:
        model: An OpenMMLab model with a ``data_preprocessor``, e.g.
            mmpretrain's ImageClassifier or an mmdet detector (its backbone
            and neck run: ``extract_feat``).
        dataloader: Yields batches with single-label ``data_samples``.
        class_names: The dataset's class names, by label index.
        progress: Optional bar with ``update(n)`` (mmengine's ProgressBar).
    """
    model.eval()
    stats = ExcitationStats(class_names)
    with ExcitationRecorder(model) as recorder:
        for data in dataloader:
            data = model.data_preprocessor(data, False)
            inputs, samples = data['inputs'], data['data_samples']
            labels = _gt_labels(samples)
            recorder.batch.clear()
            if hasattr(model, 'extract_feat'):
                model.extract_feat(inputs)
            else:
                model(inputs, samples, mode='tensor')
            stats.update(labels, recorder, inputs.shape[-2:])
            if progress is not None:
                progress.update(len(labels))
    return stats


def select_indices(labels: Sequence[int],
                   wanted: Optional[Sequence[int]] = None,
                   per_class: Optional[int] = None) -> List[int]:
    """Dataset indices of the ``wanted`` labels (all when None), the first
    ``per_class`` of each in dataset order (all when None).

    Example:
        >>> select_indices([0, 1, 0, 2, 0, 1], wanted=[0, 1], per_class=2)
        [0, 1, 2, 5]
    """
    taken = defaultdict(int)
    chosen = []
    wanted = None if wanted is None else set(wanted)
    for i, label in enumerate(labels):
        label = int(label)
        if wanted is not None and label not in wanted:
            continue
        if per_class is not None and taken[label] >= per_class:
            continue
        taken[label] += 1
        chosen.append(i)
    return chosen


def sample_channels(channels: int, num: int) -> np.ndarray:
    """``num`` channel indices spread uniformly over ``channels`` (all of
    them when there are fewer), ascending."""
    if num >= channels:
        return np.arange(channels)
    return np.unique(np.linspace(0, channels - 1, num).round().astype(int))
