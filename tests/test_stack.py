"""The installed stack works: mmcv's compiled ops and the pinned versions."""
import torch


def test_mmcv_ops_run_on_cpu():
    from mmcv.ops import RoIAlign, nms
    boxes = torch.tensor([[0., 0., 10., 10.], [1., 1., 10., 10.],
                          [20., 20., 30., 30.]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    dets, keep = nms(boxes, scores, iou_threshold=0.5)
    assert keep.tolist() == [0, 2]
    assert torch.allclose(dets[:, 4], torch.tensor([0.9, 0.7]))

    feats = torch.arange(16.).reshape(1, 1, 4, 4)
    roi_align = RoIAlign(output_size=(2, 2), spatial_scale=1.0,
                         sampling_ratio=1, aligned=True)
    rois = torch.tensor([[0., 0., 0., 4., 4.]])
    out = roi_align(feats, rois)
    # Bin centres at (1, 1), (1, 3), (3, 1), (3, 3) in pixel corners:
    # bilinear values of the ramp 4*y + x at (0.5, 0.5) etc.
    expected = torch.tensor([[[[2.5, 4.5], [10.5, 12.5]]]])
    assert torch.allclose(out, expected)


def test_versions_are_the_pinned_ones():
    import mmcv
    import mmdet
    import mmengine
    import mmpretrain
    import numpy
    assert mmcv.__version__ == '2.1.0'
    assert mmdet.__version__ == '3.3.0'
    assert mmengine.__version__ == '0.10.7'
    assert mmpretrain.__version__ == '1.2.0'
    assert hasattr(numpy, 'in1d')  # mmpretrain's RetrievalRecall needs it


def test_mmpretrain_models_import_without_transformers():
    import importlib.util

    import mmpretrain.models  # noqa: F401
    assert importlib.util.find_spec('transformers') is None
