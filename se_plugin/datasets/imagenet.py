"""ImageNet with list files checked line by line."""
import os.path as osp

from mmpretrain.datasets import ImageNet as _ImageNet

from se_plugin.registry import DATASETS
from .list_file import read_list_file


@DATASETS.register_module()
class ImageNet(_ImageNet):
    """mmpretrain's ImageNet; a malformed ``meta/*.txt`` line or an
    out-of-range class index fails naming the file and line."""

    def load_data_list(self) -> list:
        if not (self.ann_file and self.with_label):
            return super().load_data_list()
        samples = read_list_file(self.ann_file, num_classes=len(self.CLASSES))
        return [
            dict(img_path=osp.join(self.img_prefix, path), gt_label=label)
            for path, label in samples
        ]
