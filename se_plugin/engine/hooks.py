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

    Validation runs after the epoch's checkpoint is written and draws from
    the same generators (a DataLoader takes a seed from torch's at every
    iterator; models and transforms may draw too), so the hook also puts
    every generator back after each validation: the training streams never
    depend on whether, or how often, the run validates.
    """

    priority = 'NORMAL'  # before CheckpointHook (VERY_LOW) saves

    def __init__(self) -> None:
        self._states = None
        self._before_val = None

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

    def before_val_epoch(self, runner) -> None:
        self._before_val = self._state()

    def after_val_epoch(self, runner, metrics=None) -> None:
        if self._before_val is not None:
            self._set_state(self._before_val)
            self._before_val = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint['rng_states'] = self._states or [self._state()]

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        states = checkpoint.get('rng_states')
        if not states or len(states) != get_world_size():
            runner.logger.warning(
                'RNGStateHook: the checkpoint has no random states for '
                f'{get_world_size()} processes; random streams restart')
            return
        self._set_state(states[get_rank()])

    @staticmethod
    def _set_state(state: dict) -> None:
        random.setstate(state['python'])
        np.random.set_state(state['numpy'])
        torch.set_rng_state(state['torch'])
        if 'cuda' in state and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(state['cuda'])
