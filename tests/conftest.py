import pytest


@pytest.fixture(scope='session')
def demo_root(tmp_path_factory):
    """The embedded demo datasets, generated once per test session."""
    from se_plugin.datasets.demo_data import make_all
    root = str(tmp_path_factory.mktemp('demo'))
    make_all(root)
    return root
