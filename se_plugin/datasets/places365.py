"""Places365 (Zhou et al., TPAMI 2018) in its official release layout."""
import os.path as osp
from typing import Optional

from mmpretrain.datasets import BaseDataset

from se_plugin.registry import DATASETS
from se_plugin.utils.checks import check_choice
from .list_file import read_list_file
from .problems import check_policy

LISTS = {
    ('train', 'standard'): 'places365_train_standard.txt',
    ('train', 'challenge'): 'places365_train_challenge.txt',
    ('val', 'standard'): 'places365_val.txt',
    ('val', 'challenge'): 'places365_val.txt',
}
# Image folders of the official archives, by (split, train_list, image_size).
IMAGE_DIRS = {
    ('train', 'standard', '256'): 'data_256',
    ('train', 'standard', 'large'): 'data_large_standard',
    ('train', 'challenge', '256'): 'data_256',
    ('train', 'challenge', 'large'): 'data_large',
    ('val', 'standard', '256'): 'val_256',
    ('val', 'standard', 'large'): 'val_large',
    ('val', 'challenge', '256'): 'val_256',
    ('val', 'challenge', 'large'): 'val_large',
}


@DATASETS.register_module()
class Places365(BaseDataset):
    """Places365 scene classification, read from the official files.

    ::

        data_root/
        ├── categories_places365.txt       "/a/airfield 0" ... 365 lines
        ├── places365_train_standard.txt   "/a/airfield/00000001.jpg 0"
        ├── places365_train_challenge.txt
        ├── places365_val.txt              "Places365_val_00000001.jpg 165"
        ├── data_256/a/airfield/00000001.jpg    (or data_large_standard/,
        │                                        data_large/ for Challenge)
        └── val_256/Places365_val_00000001.jpg  (or val_large/)

    Args:
        data_root: The release folder.
        split: ``'train'`` or ``'val'``.
        train_list: ``'standard'`` (1.8M images) or ``'challenge'`` (8M).
        image_size: ``'256'`` (256x256 archives) or ``'large'``.
        data_prefix: Image folder, relative to ``data_root``; by default the
            official one for ``split``/``train_list``/``image_size``.
        categories_file: The class list, relative to ``data_root``.
        on_bad_annotation: What a bad line of the image list does:
            ``'error'`` (default), ``'warn'`` (drop it, log each) or
            ``'skip'`` (drop it, log the counts). The class list is always
            strict.
        **kwargs: mmpretrain ``BaseDataset`` arguments (``pipeline``,
            ``test_mode``, ...).

    Example:
        >>> ds = Places365('data/places365', split='val')  # doctest: +SKIP
        >>> ds.CLASSES[:2], ds[0]['gt_label']  # doctest: +SKIP
        (('airfield', 'airplane_cabin'), 165)
    """

    def __init__(self,
                 data_root: str,
                 split: str = 'train',
                 train_list: str = 'standard',
                 image_size: str = '256',
                 data_prefix: Optional[str] = None,
                 categories_file: str = 'categories_places365.txt',
                 on_bad_annotation: str = 'error',
                 **kwargs) -> None:
        check_choice('split', split, ('train', 'val'))
        check_policy(on_bad_annotation)
        self.on_bad_annotation = on_bad_annotation
        check_choice('train_list', train_list, ('standard', 'challenge'))
        check_choice('image_size', image_size, ('256', 'large'))
        if data_prefix is None:
            data_prefix = IMAGE_DIRS[(split, train_list, image_size)]
        categories = read_list_file(
            osp.join(data_root, categories_file), field='categories_file')
        if [index for _, index in categories] != list(range(len(categories))):
            raise ValueError(f'{osp.join(data_root, categories_file)}: class '
                             'indices must run 0, 1, 2, ... in order')
        # "/a/airfield" -> "airfield", "/b/bakery/shop" -> "bakery/shop"
        classes = tuple(name.split('/', 2)[-1] for name, _ in categories)
        self.split = split
        super().__init__(
            ann_file=LISTS[(split, train_list)],
            data_root=data_root,
            data_prefix=data_prefix,
            metainfo=dict(classes=classes),
            **kwargs)

    def load_data_list(self) -> list:
        samples = read_list_file(self.ann_file, num_classes=len(self.CLASSES),
                                 on_bad_annotation=self.on_bad_annotation)
        return [
            dict(img_path=osp.join(self.img_prefix, path.lstrip('/')),
                 gt_label=label) for path, label in samples
        ]
