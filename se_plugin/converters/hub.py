"""Published SE-ResNet/SE-ResNeXt/SENet-154 weights by name, for mmengine.

``import se_plugin`` registers the checkpoint schemes ``timm://`` and
``mmpretrain://`` with mmengine's ``CheckpointLoader``, so that every place
that takes a checkpoint takes a published name::

    init_cfg=dict(type='Pretrained', prefix='backbone.',
                  checkpoint='timm://legacy_seresnet50.in1k')
    load_from = 'mmpretrain://seresnet50_8xb32_in1k'
    python tools/test.py CONFIG timm://seresnet50.a1_in1k

A name resolves through its publisher's own registry (timm's pretrained
cfgs, mmpretrain's model index). Its file is downloaded once into the usual
cache (the Hugging Face hub cache for timm's hub weights, ``torch.hub``'s
``checkpoints/`` for URLs), checked against the publisher's hash every time
it is loaded, read weights-only and converted by
:mod:`se_plugin.converters.senet` into se_plugin's classifier layout
(``backbone.*``, ``head.fc.*``).
"""
import argparse
import dataclasses
import difflib
import hashlib
import inspect
import os
import os.path as osp
import re
from functools import lru_cache
from typing import Dict, List, Optional, Tuple

import torch
import torch.hub
from mmengine.dist import barrier, get_dist_info
from mmengine.logging import print_log
from mmengine.runner import CheckpointLoader

from se_plugin.utils.checkpoint_errors import CheckpointError
from .senet import ConversionError, convert, load_weights

SCHEMES = ('timm://', 'mmpretrain://')
# The timm architectures whose conversion tests/test_convert.py proves
# output for output; timm's other SE models (byobnet 'ts' nets, tiered or
# anti-aliased stems) have other layouts.
TIMM_ARCHITECTURES = (
    'legacy_seresnet18', 'legacy_seresnet34', 'legacy_seresnet50',
    'legacy_seresnet101', 'legacy_seresnet152', 'legacy_seresnext26_32x4d',
    'legacy_seresnext50_32x4d', 'legacy_seresnext101_32x4d',
    'legacy_senet154', 'seresnet50', 'seresnet152d', 'seresnext26d_32x4d',
    'seresnext50_32x4d', 'seresnext101_32x4d', 'seresnext101_32x8d',
    'seresnext101d_32x8d', 'seresnext101_64x4d', 'senet154')
# mmpretrain model-index collections in the converter's 'mmpretrain' layout.
MMPRETRAIN_COLLECTIONS = ('SEResNet', 'ResNet')
# Backbone arguments the weights need besides those the converter sets.
CONVENTIONS = ('style', 'caffe_pool', 'branch_relu', 'deep_stem', 'avg_down',
               'stem_channels', 'base_channels', 'groups', 'width_per_group',
               'se_position')
# timm's hub file and its safetensors alternative (timm/models/_hub.py),
# in the order timm tries them.
HF_FILES = ('model.safetensors', 'pytorch_model.bin')


class WeightsError(CheckpointError, ValueError):
    """A published name that cannot be resolved, fetched or verified; the
    message names it and says what to do. A :class:`CheckpointError`, so
    :func:`se_plugin.compat.named_checkpoint_errors` passes it on as it
    is."""

    def __init__(self, message: str) -> None:
        super().__init__(message, 'published name')


@dataclasses.dataclass(frozen=True)
class Published:
    """Where a published checkpoint lives and how to convert it.

    Args:
        name: The full name, e.g. ``'timm://legacy_seresnet50.in1k'``.
        source: The converter's source layout: timm, cadene or mmpretrain.
        url: The publisher's download URL (torch.hub cache), if any.
        hf_hub_id: The Hugging Face hub repository, if any.
        top1: The publisher's ImageNet top-1 (%), where its registry has it.
    """

    name: str
    source: str
    url: Optional[str] = None
    hf_hub_id: Optional[str] = None
    top1: Optional[float] = None


def _timm_names() -> List[str]:
    import timm
    return [
        n for n in timm.list_pretrained()
        if n.split('.')[0] in TIMM_ARCHITECTURES
    ]


def _mmpretrain_models() -> dict:
    from mmpretrain.apis import ModelHub, list_models
    list_models()  # registers mmpretrain's model index
    return {
        name: model
        for name, model in ModelHub._models_dict.items()
        if name.endswith('_in1k') and model.weights and set(
            _as_list(model.in_collection)) & set(MMPRETRAIN_COLLECTIONS)
    }


def _as_list(value) -> list:
    return value if isinstance(value, (list, tuple)) else [value]


@lru_cache(maxsize=None)
def published_names() -> Tuple[str, ...]:
    """Every name the schemes accept, e.g. ``'timm://seresnet50.a1_in1k'``."""
    return tuple(['timm://' + n for n in sorted(_timm_names())] +
                 ['mmpretrain://' + n for n in sorted(_mmpretrain_models())])


def _unknown(name: str, why: str) -> WeightsError:
    close = difflib.get_close_matches(name, published_names(), n=5,
                                      cutoff=0.6)
    hint = (f'close matches: {", ".join(close)}' if close else
            'no close match')
    return WeightsError(
        f'{name}: {why}; {hint}. Every name: '
        'se_plugin.converters.hub.published_names()')


def resolve(name: str) -> Published:
    """Look ``name`` up in its publisher's registry.

    Args:
        name: ``timm://ARCH[.TAG]`` (the default tag if none) or
            ``mmpretrain://MODEL``.

    Example:
        >>> resolve('timm://legacy_seresnet50').url.rsplit('/', 1)[1]
        'se_resnet50-ce0d4300.pth'
    """
    if name.startswith('timm://'):
        from timm.models import get_pretrained_cfg
        model = name[len('timm://'):]
        if model.split('.')[0] not in TIMM_ARCHITECTURES:
            raise _unknown(
                name, 'not a timm SE architecture that se_plugin converts '
                f'({", ".join(TIMM_ARCHITECTURES)})')
        try:
            cfg = get_pretrained_cfg(model, allow_unregistered=False)
        except RuntimeError as e:  # an unknown tag
            raise _unknown(name, f'timm has no such weights ({e})') from None
        if cfg is None or not (cfg.hf_hub_id or cfg.url):
            raise _unknown(name, 'timm publishes no weights for it')
        return Published(
            name=f'timm://{cfg.architecture}.{cfg.tag}',
            source='cadene' if model.startswith('legacy_') else 'timm',
            url=cfg.url or None,
            hf_hub_id=cfg.hf_hub_id or None)
    if name.startswith('mmpretrain://'):
        models = _mmpretrain_models()
        model = models.get(name[len('mmpretrain://'):])
        if model is None:
            raise _unknown(name, 'not an ImageNet SE-ResNet/ResNet in '
                           "mmpretrain's model index")
        top1 = next((r.metrics.get('Top 1 Accuracy')
                     for r in (model.results or [])
                     if r.dataset == 'ImageNet-1k'), None)
        return Published(name=name, source='mmpretrain', url=model.weights,
                         top1=top1)
    raise _unknown(name, f'the scheme is none of {SCHEMES}')


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, 'rb') as f:
        for block in iter(lambda: f.read(1 << 20), b''):
            digest.update(block)
    return digest.hexdigest()


def _url_cache(url: str) -> Tuple[str, Optional[str]]:
    """torch.hub's cache file for ``url`` and the hash prefix its name
    carries (``name-<sha256 prefix>.pth``, torch.hub's convention)."""
    filename = osp.basename(url)
    match = torch.hub.HASH_REGEX.search(filename)
    prefix = match.group(1) if match and match.group(1) else None
    return osp.join(torch.hub.get_dir(), 'checkpoints', filename), prefix


def _hf_cache_dir(repo_id: str) -> str:
    from huggingface_hub import constants
    return osp.join(constants.HF_HUB_CACHE,
                    'models--' + repo_id.replace('/', '--'))


def _verify(path: str, expected: Optional[str], origin: str) -> str:
    """The file's sha256, which must start with the publisher's."""
    sha = _sha256(path)
    if expected and not sha.startswith(expected.lower()):
        raise WeightsError(
            f'{path} ({os.path.getsize(path)} bytes) has sha256 {sha}, not '
            f"the publisher's {expected} ({origin}): an incomplete download "
            'or another file. Delete it and load again, or replace it by '
            f'hand with the file from {origin}.')
    return sha


def _cached(pub: Published) -> Optional[Tuple[str, str]]:
    """(verified path, sha256) of a cached copy, or None."""
    if pub.hf_hub_id:
        import huggingface_hub
        for filename in HF_FILES:
            path = huggingface_hub.try_to_load_from_cache(
                pub.hf_hub_id, filename)
            if isinstance(path, str) and osp.isfile(path):
                # The hub stores a file under its LFS etag: its sha256.
                blob = osp.basename(osp.realpath(path))
                expected = blob if re.fullmatch('[0-9a-f]{64}', blob) else None
                origin = huggingface_hub.hf_hub_url(pub.hf_hub_id, filename)
                return path, _verify(path, expected, origin)
    if pub.url:
        path, prefix = _url_cache(pub.url)
        if osp.isfile(path):
            return path, _verify(path, prefix, pub.url)
    return None


def _download(pub: Published) -> Tuple[str, str]:
    """Download into the cache; on failure say what to fill by hand."""
    tried = []
    if pub.hf_hub_id:
        import huggingface_hub
        from huggingface_hub.errors import RemoteEntryNotFoundError
        for filename in HF_FILES:
            try:
                huggingface_hub.hf_hub_download(pub.hf_hub_id, filename)
                break
            except RemoteEntryNotFoundError:
                continue  # not in this repository: timm's next choice
            except Exception as e:  # offline, no network, refused
                tried.append((huggingface_hub.hf_hub_url(
                    pub.hf_hub_id, filename), e))
                break
        else:
            tried.append((f'https://huggingface.co/{pub.hf_hub_id}',
                          'has none of ' + ', '.join(HF_FILES)))
        found = _cached(pub)
        if found:
            return found
    if pub.url:
        path, prefix = _url_cache(pub.url)
        os.makedirs(osp.dirname(path), exist_ok=True)
        try:
            # Writes a temporary file, checks the hash, then renames it.
            torch.hub.download_url_to_file(pub.url, path, hash_prefix=prefix,
                                           progress=True)
            return path, _verify(path, prefix, pub.url)
        except Exception as e:
            tried.append((pub.url, e))
    raise WeightsError(_fill_by_hand(pub, tried))


def _why(error) -> str:
    if isinstance(error, str):
        return error
    first = str(error).splitlines()[0][:200] if str(error) else ''
    return f'{type(error).__name__}: {first}'


def _fill_by_hand(pub: Published, tried: list) -> str:
    lines = [f'{pub.name}: could not download it and no cache has it.']
    lines += [f'  {url}: {_why(e)}' for url, e in tried]
    lines.append('On a machine with internet, get one of these and copy it '
                 'here:')
    if pub.url:
        path, _ = _url_cache(pub.url)
        lines.append(f'  curl -L -o {osp.basename(path)} {pub.url}\n'
                     f'    then copy it to {path} (TORCH_HOME moves it)')
    if pub.hf_hub_id:
        folder = _hf_cache_dir(pub.hf_hub_id)
        lines.append(
            f'  hf download {pub.hf_hub_id} {HF_FILES[0]}\n    then copy '
            f'~/.cache/huggingface/hub/{osp.basename(folder)} whole (blobs/, '
            f'refs/, snapshots/) to {folder} (HF_HOME moves it)')
    return '\n'.join(lines)


def fetch(name: str) -> Tuple[Published, str, str]:
    """(record, local file, sha256) of a published name: from the cache,
    else downloaded (rank 0 first, as mmengine's http loader)."""
    pub = resolve(name)
    rank, world_size = get_dist_info()
    found = None
    if rank == 0:
        found = _cached(pub) or _download(pub)
    if world_size > 1:
        barrier()
        if rank > 0:
            found = _cached(pub) or _download(pub)
    return (pub, ) + found


@lru_cache(maxsize=1)
def _converted(path: str, sha256: str, source: str) -> tuple:
    # Keyed by the verified hash: a replaced file is converted afresh.
    try:
        state = load_weights(path)
    except ConversionError as e:
        raise WeightsError(f'{e}. Delete {path} and load again.') from e
    return convert(state, source)


def load_published(name: str, map_location=None) -> Dict:
    """The converted checkpoint of a published name, as mmengine loads it.

    Args:
        name: A name of :func:`published_names`.
        map_location: Unused: weights are converted on the CPU (mmengine
            moves them when it loads them into a model).

    Returns:
        ``{'state_dict': se_plugin classifier keys, 'meta': {...}}``; the
        meta holds the name, file, sha256, the classifier ``model_cfg``
        and, for 1000 classes, ImageNet's ``dataset_meta``.
    """
    pub, path, sha = fetch(name)
    state, model_cfg = _converted(path, sha, pub.source)
    meta = dict(published=pub.name, file=path, sha256=sha,
                model_cfg=model_cfg, top1=pub.top1)
    if model_cfg['head']['num_classes'] == 1000:
        from mmpretrain.datasets.categories import IMAGENET_CATEGORIES
        meta['dataset_meta'] = dict(classes=IMAGENET_CATEGORIES)
    print_log(f'{name}: {path} (sha256 {sha[:12]}...), converted from '
              f'{pub.source}', logger='current')
    return dict(state_dict=dict(state), meta=meta)


def is_published(name: str) -> bool:
    """Whether ``name`` uses one of se_plugin's schemes."""
    return isinstance(name, str) and name.startswith(SCHEMES)


def file_or_published(text: str) -> str:
    """argparse ``type=`` for a checkpoint argument of tools/: an existing
    file, or a published name that resolves (offline: its publisher's
    registry only, no download).

    Example:
        >>> parser.add_argument('checkpoint', type=file_or_published)
        # error: argument checkpoint: timm://seresnet5: not a timm SE ...
    """
    if is_published(text):
        try:
            resolve(text)
        except WeightsError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
    elif not osp.isfile(text):
        raise argparse.ArgumentTypeError(
            f'{text} is neither a file nor a published name '
            f'({"..., ".join(SCHEMES)}...)')
    return text


def _defaults(type_name: str) -> dict:
    """Constructor defaults of a registered backbone, along its MRO."""
    from se_plugin.registry import MODELS
    cls = MODELS.get(type_name.split('.')[-1])
    found = {}
    for klass in reversed(cls.__mro__) if cls else ():
        if '__init__' in vars(klass):
            found.update({
                k: p.default for k, p in inspect.signature(
                    klass.__init__).parameters.items()
                if p.default is not inspect.Parameter.empty})
    return found


def differing_conventions(backbone: dict, published: dict) -> List[str]:
    """``'key=ours (weights: theirs)'`` for each backbone argument where a
    config's backbone dict differs from the one published weights were
    converted for: architecture and the conventions that shapes do not show
    (stride placement, stem pool, SE widths)."""
    defaults = _defaults(published['type'])
    ours = {**defaults, **backbone}
    theirs = {**defaults, **published}
    se_defaults = _defaults('SELayer')
    differ = []
    keys = set(published) | (set(CONVENTIONS) & set(defaults))
    for key in sorted(keys - {'out_indices', 'init_cfg'}):
        a, b = ours.get(key), theirs.get(key)
        if key == 'type':
            a, b = str(a).split('.')[-1], str(b).split('.')[-1]
        if key == 'se_stages':
            a = tuple(a) if a is not None else (True, ) * 4
            b = tuple(b) if b is not None else (True, ) * 4
        if key == 'se_cfg':
            a, b = {**se_defaults, **(a or {})}, {**se_defaults, **(b or {})}
        if a != b:
            differ.append(f'{key}={a!r} (weights: {b!r})')
    return differ


def check_conventions(backbone: dict, name: str) -> None:
    """Raise if a config's backbone differs from a published name's in
    what the weights need (:func:`differing_conventions`).

    Args:
        backbone: The config's backbone dict.
        name: A published name.
    """
    published = load_published(name)['meta']['model_cfg']['backbone']
    differ = differing_conventions(backbone, published)
    if differ:
        raise WeightsError(
            f'the config\'s backbone does not follow {name}\'s conventions: '
            f'{", ".join(differ)}; set them in model.backbone (or '
            f'--cfg-options model.backbone.KEY=VALUE)')


def load_from_published(filename: str, map_location=None) -> Dict:
    # mmengine logs the loader's name after 'load_from_': 'published'.
    return load_published(filename, map_location)


def register_schemes() -> None:
    """Register ``timm://`` and ``mmpretrain://`` with mmengine (idempotent:
    ``force=True`` replaces an earlier registration of the same loader)."""
    CheckpointLoader.register_scheme(SCHEMES, load_from_published, force=True)
