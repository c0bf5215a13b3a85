"""ImageNet with list files checked line by line."""
import os.path as osp

from mmpretrain.datasets import ImageNet as _ImageNet

from se_plugin.registry import DATASETS
from .list_file import read_list_file
from .problems import check_policy


@DATASETS.register_module()
class ImageNet(_ImageNet):
    """mmpretrain's ImageNet; a malformed ``meta/*.txt`` line, an
    out-of-range class index or an image listed twice fails naming the file
    and line.

    Args:
        on_bad_annotation: ``'error'`` (default), ``'warn'`` (drop the bad
            lines, log each) or ``'skip'`` (drop them, log the counts).
        *args, **kwargs: mmpretrain ``ImageNet`` arguments.
    """

    def __init__(self, *args, on_bad_annotation: str = 'error',
                 **kwargs) -> None:
        check_policy(on_bad_annotation)
        self.on_bad_annotation = on_bad_annotation
        super().__init__(*args, **kwargs)

    def load_data_list(self) -> list:
        if not (self.ann_file and self.with_label):
            return super().load_data_list()
        samples = read_list_file(self.ann_file, num_classes=len(self.CLASSES),
                                 on_bad_annotation=self.on_bad_annotation)
        return [
            dict(img_path=osp.join(self.img_prefix, path), gt_label=label)
            for path, label in samples
        ]
