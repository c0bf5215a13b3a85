import functools

import pytest


@pytest.fixture(scope='session', autouse=True)
def metafiles_read_once():
    """mmengine 0.10.7 resolves each ``pkg::`` base by reading every
    metafile of the package (mmpretrain: ~85 YAML files, 0.3 s) through
    ``mmengine.config.utils.load``, on every lookup (no public hook
    exists). The installed files do not change during a test session, so
    each is parsed once here: same results, and config loading, most of
    the fast tier's time, is faster."""
    from mmengine.config import utils
    real = utils.load
    utils.load = functools.lru_cache(maxsize=None)(real)
    yield
    utils.load = real


@pytest.fixture(scope='session', autouse=True)
def frozen_imports():
    """mmengine's datasets call ``gc.collect()`` when they are built
    (``BaseDataset._serialize_data``); with torch, mmdet, mmpretrain and
    Detectron2 imported, each call walked every object in the process
    (0.3 s, over a hundred times). What exists when the first test starts
    (the imported modules) is moved out of the collector's sight."""
    import gc
    gc.collect()
    gc.freeze()
    yield
    gc.unfreeze()


@pytest.fixture(scope='session')
def demo_root(tmp_path_factory):
    """The embedded demo datasets, generated once per test session."""
    from se_plugin.testing.demo_data import make_all
    root = str(tmp_path_factory.mktemp('demo'))
    make_all(root)
    return root


@pytest.fixture(scope='module')
def one_thread():
    """For modules of tiny tensors: on a shared 2-core machine, OpenMP
    threads waiting on each other cost up to 100x the work itself."""
    import torch
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def log():
    """The lines mmengine's current logger writes during the test."""
    import logging

    from mmengine.logging import MMLogger
    records = []
    handler = logging.Handler()
    handler.emit = lambda record: records.append(record.getMessage())
    logger = MMLogger.get_current_instance()
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


@pytest.fixture
def caches(tmp_path, monkeypatch):
    """Empty caches at HF_HOME/TORCH_HOME in tmp_path, and no network: the
    real cache locations of published weights, for tests to seed."""
    import urllib.error

    import huggingface_hub
    import torch.hub
    from huggingface_hub import constants

    from se_plugin.converters import hub
    monkeypatch.setenv('HF_HOME', str(tmp_path / 'hf'))
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch'))
    monkeypatch.setenv('HF_HUB_OFFLINE', '1')
    # huggingface_hub reads its environment once, at import.
    monkeypatch.setattr(constants, 'HF_HUB_CACHE', str(tmp_path / 'hf/hub'))
    monkeypatch.setattr(constants, 'HF_HUB_OFFLINE', True)
    real_hf_download = huggingface_hub.hf_hub_download

    def cache_only(*args, **kwargs):
        return real_hf_download(*args, **{**kwargs, 'local_files_only': True})

    def no_network(url, *args, **kwargs):
        raise urllib.error.URLError(f'no network in tests ({url})')

    monkeypatch.setattr(huggingface_hub, 'hf_hub_download', cache_only)
    monkeypatch.setattr(torch.hub, 'download_url_to_file', no_network)
    hub._converted.cache_clear()
    yield tmp_path
    hub._converted.cache_clear()
