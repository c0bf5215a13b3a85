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
