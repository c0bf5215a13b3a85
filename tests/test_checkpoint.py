"""mmengine checkpoints load with weights_only=True; foreign code does not."""
import os
import pickle

import pytest
import torch
import torch.nn as nn
from mmengine.model import BaseModel
from mmengine.runner import Runner, load_checkpoint

import se_plugin


@pytest.fixture(autouse=True, scope='module')
def fixes():
    """What our tools switch on: mmengine's checkpoint data types allowed,
    ``HistoryBuffer`` pickled without function references."""
    se_plugin.setup()


class TinyModel(BaseModel):

    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(2, 1)
        self.steps = 0

    def forward(self, inputs, data_samples=None, mode='loss'):
        self.steps += mode == 'loss'
        out = self.fc(torch.stack(inputs))
        return {'loss': out.pow(2).mean()} if mode == 'loss' else out


def make_runner(work_dir, max_epochs, **kwargs):
    torch.manual_seed(0)
    return Runner(
        model=TinyModel(),
        work_dir=str(work_dir),
        train_dataloader=dict(
            dataset=[dict(inputs=torch.rand(2)) for _ in range(8)],
            sampler=dict(type='DefaultSampler', shuffle=True, seed=0),
            batch_size=2,
            collate_fn=dict(type='pseudo_collate')),
        optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        param_scheduler=dict(
            type='MultiStepLR', milestones=[1], by_epoch=True, end=10),
        train_cfg=dict(by_epoch=True, max_epochs=max_epochs),
        default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1)),
        **kwargs)


def test_runner_checkpoint_is_weights_only_and_resumes(tmp_path):
    make_runner(tmp_path, max_epochs=1).train()
    ckpt = tmp_path / 'epoch_1.pth'
    assert torch.serialization.get_unsafe_globals_in_checkpoint(ckpt) == []
    state = torch.load(ckpt, weights_only=True)
    assert state['meta']['epoch'] == 1
    assert state['message_hub']['log_scalars']['train/loss'].data[0].size

    runner = make_runner(tmp_path / 'resumed', max_epochs=2,
                         resume=True, load_from=str(ckpt))
    runner.train()
    assert runner.epoch == 2
    assert runner.model.steps == 4  # only epoch 2 ran: 8 samples / batch 2
    # The MultiStepLR milestone at epoch 1 came through the resume.
    assert runner.optim_wrapper.get_lr()['lr'] == [pytest.approx(0.01)]
    load_checkpoint(TinyModel(), str(ckpt))


class RunsCode:

    def __reduce__(self):
        return (os.system, ('touch pwned',))


def test_foreign_pickle_with_code_is_refused(tmp_path, monkeypatch):
    path = tmp_path / 'evil.pth'
    torch.save({'state_dict': RunsCode()}, path)
    monkeypatch.chdir(tmp_path)
    with pytest.raises(pickle.UnpicklingError, match='system'):
        torch.load(path)
    with pytest.raises(pickle.UnpicklingError):
        load_checkpoint(TinyModel(), str(path))
    assert not (tmp_path / 'pwned').exists()
