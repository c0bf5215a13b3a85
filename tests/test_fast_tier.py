"""The fast tier (``pytest -m "not slow"``) still reaches every se_plugin
module: a test file's fast part (module level and the tests not marked
slow) names the module or something it defines, or imports it through
another. Static (syntax trees), so it costs no test run; being reached is
not proof of behaviour, the tests that reach it are."""
import ast
import glob
import os.path as osp
import re

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))
WORD = re.compile(r'[A-Za-z_][\w.]*')


def marked_slow(node: ast.AST) -> bool:
    """``@pytest.mark.slow`` (or ``pytestmark = pytest.mark.slow``, also in
    a list) on ``node``."""
    return any(
        isinstance(n, ast.Attribute) and n.attr == 'slow'
        and isinstance(n.value, ast.Attribute) and n.value.attr == 'mark'
        for n in ast.walk(node))


def fast_names(path: str) -> set:
    """Identifiers, attribute names, imported modules (dotted) and words of
    strings in the fast part of the test file ``path``."""
    tree = ast.parse(open(path).read(), path)
    body = []
    for node in tree.body:
        if (isinstance(node, ast.Assign) and any(
                getattr(t, 'id', None) == 'pytestmark'
                for t in node.targets) and marked_slow(node)):
            return set()  # the whole file is slow
        decorators = getattr(node, 'decorator_list', [])
        if not any(marked_slow(d) for d in decorators):
            body.append(node)
    if not any(
            isinstance(node, (ast.FunctionDef, ast.ClassDef))
            and node.name.startswith(('test_', 'Test')) for node in body):
        return set()  # every test is slow: its imports do not count
    names = set()
    for node in ast.walk(ast.Module(body=body, type_ignores=[])):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            for alias in node.names:
                names.update((alias.name, f'{node.module}.{alias.name}'))
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            for word in WORD.findall(node.value):
                names.update(word.split('.') + [word])
    return names


def defined_names(tree: ast.Module) -> set:
    """Public top-level classes, functions and assigned names of a
    module."""
    names = set()
    for node in tree.body:
        if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets
                         if isinstance(t, ast.Name))
    return {name for name in names if not name.startswith('_')}


def imported_modules(tree: ast.Module, package: str, modules: set) -> set:
    """The se_plugin modules (of ``modules``) that ``tree`` imports;
    ``package`` resolves relative imports."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ''
            if node.level:
                parts = package.split('.')[:len(package.split('.')) -
                                           node.level + 1]
                base = '.'.join(parts + ([base] if base else []))
            found.add(base)
            found.update(f'{base}.{alias.name}' for alias in node.names)
    return found & modules


def se_plugin_modules() -> dict:
    """``{dotted name: (syntax tree, package)}`` of every se_plugin
    module."""
    modules = {}
    for path in glob.glob(osp.join(REPO, 'se_plugin', '**', '*.py'),
                          recursive=True):
        dotted = osp.relpath(path, REPO)[:-3].replace(osp.sep, '.')
        is_package = dotted.endswith('.__init__')
        dotted = dotted[:-len('.__init__')] if is_package else dotted
        package = dotted if is_package else dotted.rsplit('.', 1)[0]
        modules[dotted] = (ast.parse(open(path).read(), path), package,
                           is_package)
    return modules


def test_every_module_is_reached_by_a_fast_test():
    """Named by a fast test, or imported by a module or a tool (its file
    name, e.g. ``train``, named by a fast test) that is; imports of
    packages' ``__init__`` (re-exports) do not count."""
    named = set()
    for path in glob.glob(osp.join(REPO, 'tests', 'test_*.py')):
        named |= fast_names(path)
    modules = se_plugin_modules()
    reached = {
        dotted
        for dotted, (tree, _, _) in modules.items()
        if dotted in named or defined_names(tree) & named
    }
    for path in glob.glob(osp.join(REPO, 'tools', '**', '*.py'),
                          recursive=True):
        if osp.basename(path)[:-3] in named:
            reached |= imported_modules(
                ast.parse(open(path).read(), path), '', set(modules))
    while True:
        more = set()
        for dotted in reached:
            tree, package, is_package = modules[dotted]
            if not is_package:
                more |= imported_modules(tree, package, set(modules))
        if more <= reached:
            break
        reached |= more
    missing = sorted(
        dotted for dotted, (tree, _, is_package) in modules.items()
        if dotted not in reached and defined_names(tree) and not is_package)
    assert not missing, ('no fast test reaches these modules: ' +
                         ', '.join(missing))


def test_names_in_slow_tests_do_not_count(tmp_path):
    path = tmp_path / 'test_x.py'
    path.write_text('import pytest\n'
                    'from se_plugin.a import b\n\n\n'
                    '@pytest.mark.slow\n'
                    'def test_slow():\n    SlowOnly()\n\n\n'
                    'def test_fast():\n    b.fast_name("se_plugin.C")\n')
    names = fast_names(str(path))
    assert {'se_plugin.a.b', 'b', 'fast_name', 'C', 'se_plugin.C'} <= names
    assert 'SlowOnly' not in names
    path.write_text('import pytest\n'
                    'from se_plugin import FastName\n\n\n'
                    '@pytest.mark.slow\n'
                    'def test_slow():\n    FastName()\n')
    assert fast_names(str(path)) == set()
    path.write_text('import pytest\n\n'
                    'pytestmark = [pytest.mark.slow]\n\n\n'
                    'def test_fast():\n    FastName()\n')
    assert fast_names(str(path)) == set()
