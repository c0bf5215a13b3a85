import pytest


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
