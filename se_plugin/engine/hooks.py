"""Hooks for mmengine's Runner."""
import random

import numpy as np
import torch
from mmengine.dist import all_gather_object, get_rank, get_world_size
from mmengine.hooks import CheckpointHook, Hook

from se_plugin.registry import HOOKS


@HOOKS.register_module()
class RNGStateHook(Hook):
    """Carry every rank's random state through checkpoints.

    mmengine checkpoints restore weights, optimizer and schedule but not the
    random generators, so a resumed run draws different augmentations and
    logs different losses than an uninterrupted one. This hook stores the
    python, numpy and torch (CPU and CUDA) states of every rank at each
    checkpoint and restores them on ``--resume``: the resumed run continues
    exactly. The states are plain data and load with ``weights_only=True``.
    """

    priority = 'NORMAL'  # before CheckpointHook (VERY_LOW) saves

    def __init__(self) -> None:
        self._states = None

    @staticmethod
    def _state() -> dict:
        state = dict(
            python=random.getstate(),
            numpy=np.random.get_state(),
            torch=torch.get_rng_state())
        if torch.cuda.is_available():
            state['cuda'] = torch.cuda.get_rng_state_all()
        return state

    def _gather(self) -> None:
        # Collective: every rank calls it; only rank 0 saves checkpoints.
        self._states = all_gather_object(self._state())

    def after_train_epoch(self, runner) -> None:
        self._gather()

    def after_train_iter(self, runner, batch_idx, data_batch=None,
                         outputs=None) -> None:
        for hook in runner.hooks:
            if (isinstance(hook, CheckpointHook) and not hook.by_epoch
                    and self.every_n_train_iters(runner, hook.interval)):
                self._gather()

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint['rng_states'] = self._states or [self._state()]

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        states = checkpoint.get('rng_states')
        if not states or len(states) != get_world_size():
            runner.logger.warning(
                'RNGStateHook: the checkpoint has no random states for '
                f'{get_world_size()} processes; random streams restart')
            return
        state = states[get_rank()]
        random.setstate(state['python'])
        np.random.set_state(state['numpy'])
        torch.set_rng_state(state['torch'])
        if 'cuda' in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state['cuda'])
