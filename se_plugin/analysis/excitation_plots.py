"""The paper's Fig. 6 and Fig. 7 from :class:`ExcitationStats`."""
from typing import Sequence

import matplotlib

matplotlib.use('Agg')  # files only; no display on servers
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from .excitation import ExcitationStats, sample_channels  # noqa: E402


def _grid(num: int, width: float, height: float, rows: int = 1):
    cols = -(-num // rows)
    fig, axes = plt.subplots(
        rows, cols, figsize=(width * cols, height * rows), squeeze=False,
        sharey=True)
    return fig, axes


def plot_across_classes(stats: ExcitationStats, blocks: Sequence[str],
                        classes: Sequence[int], channels: int = 50):
    """Fig. 6: per block, the mean excitation of ``channels`` uniformly
    sampled channels for each label in ``classes`` and the mean over every
    class seen. Returns the matplotlib figure."""
    fig, axes = _grid(len(blocks), 3.2, 2.4, rows=1 + (len(blocks) > 4))
    seen = stats.labels
    for ax, block in zip(axes.flat, blocks):
        mean, _ = stats.mean_std(block)
        picked = sample_channels(mean.shape[1], channels)
        x = np.arange(len(picked))
        for label in classes:
            ax.plot(x, mean[seen.index(label), picked], lw=1,
                    label=stats.class_names[label])
        ax.plot(x, mean[:, picked].mean(0), 'k--', lw=1.2, label='all')
        ax.set_title(block, fontsize=9)
        ax.set_xlabel('channel index', fontsize=8)
        ax.set_ylim(0, 1.02)
        ax.tick_params(labelsize=7)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    for ax in axes.flat[len(blocks):]:
        ax.axis('off')
    axes[0, 0].set_ylabel('activation', fontsize=8)
    axes.flat[len(blocks) - 1].legend(fontsize=6, loc='lower right')
    fig.tight_layout()
    return fig


def plot_within_class(stats: ExcitationStats, blocks: Sequence[str],
                      classes: Sequence[int], channels: int = 50):
    """Fig. 7: one row per label in ``classes``, one panel per block: the
    mean and standard deviation of the sampled channels' excitations over
    the images of that class. Returns the matplotlib figure."""
    cols = len(blocks)
    fig, axes = plt.subplots(
        len(classes), cols, figsize=(2.4 * cols, 1.9 * len(classes)),
        squeeze=False, sharey=True)
    seen = stats.labels
    for j, block in enumerate(blocks):
        mean, std = stats.mean_std(block)
        picked = sample_channels(mean.shape[1], channels)
        x = np.arange(len(picked))
        for i, label in enumerate(classes):
            m, s = mean[seen.index(label), picked], std[seen.index(label),
                                                        picked]
            ax = axes[i, j]
            ax.fill_between(x, m - s, m + s, alpha=0.3, lw=0)
            ax.plot(x, m, lw=1)
            ax.set_ylim(0, 1.02)
            ax.tick_params(labelsize=6)
            ax.xaxis.set_major_locator(MaxNLocator(integer=True))
            if i == 0:
                ax.set_title(block, fontsize=8)
            if j == 0:
                ax.set_ylabel(stats.class_names[label], fontsize=8)
    fig.tight_layout()
    return fig


def save(fig, stem: str, formats: Sequence[str] = ('png', 'svg'),
         dpi: int = 90) -> list:
    """Write ``fig`` as ``stem.<format>`` for each format; close it."""
    paths = [f'{stem}.{fmt}' for fmt in formats]
    for path in paths:
        fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return paths
