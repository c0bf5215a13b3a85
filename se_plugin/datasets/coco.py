"""COCO detection with annotation errors that name the file and place."""
import json

from mmdet.datasets import CocoDataset as _CocoDataset

from se_plugin.registry import DATASETS


@DATASETS.register_module()
class CocoDataset(_CocoDataset):
    """mmdet's CocoDataset; malformed json fails naming the file, line and
    column, and a malformed annotation names its id and image."""

    def load_data_list(self) -> list:
        try:
            return super().load_data_list()
        except json.JSONDecodeError as e:
            raise ValueError(f'{self.ann_file}, line {e.lineno} column '
                             f'{e.colno}: invalid JSON: {e.msg}') from e
        except FileNotFoundError as e:
            raise FileNotFoundError(
                f'ann_file: {self.ann_file} does not exist') from e
        except (KeyError, TypeError) as e:
            raise ValueError(f'{self.ann_file}: malformed COCO file, missing '
                             f'or wrong field {e}') from e

    def parse_data_info(self, raw_data_info: dict):
        for ann in raw_data_info['raw_ann_info']:
            bbox = ann.get('bbox')
            if (not isinstance(bbox, list) or len(bbox) != 4
                    or not all(isinstance(v, (int, float)) for v in bbox)):
                raise ValueError(
                    f'{self.ann_file}: annotation id {ann.get("id")} (image '
                    f'id {ann.get("image_id")}): bbox must be 4 numbers '
                    f'[x, y, w, h], got {bbox!r}')
        return super().parse_data_info(raw_data_info)
