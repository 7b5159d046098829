"""A training step leaves its metrics on the device: lompo's code calls no ``.item()``, ``.tolist()``,
``.cpu()`` or ``.numpy()`` and converts no tensor with ``float()``, ``int()``, ``bool()`` (an ``if`` on a
tensor) or as an index inside any algorithm's step (each would stall a GPU until the step's work is
done; torch's own optimizers read their CPU step counters, which costs no sync), and the trainer turns
the metrics into numbers with one stacked copy (``metric_values``)."""

import sys

import pytest
import torch

from lompo.algos.spec import metric_values

from helpers import new_run

HOST_COPIES = ("item", "tolist", "cpu", "numpy", "__float__", "__int__", "__bool__", "__index__")
# Functions whose tensors live on the host by design: on a CPU, DrQ's shift crops read their offsets (drawn
# by a host generator) as numbers; on a GPU it gathers the crops there instead (drq.crop_gathered).
HOST_SIDE = {"crop_each"}


@pytest.fixture
def count_host_copies(monkeypatch):
    calls = {name: 0 for name in HOST_COPIES}
    for name in HOST_COPIES:
        original = getattr(torch.Tensor, name)

        def counted(self, *args, _name=name, _original=original, **kwargs):
            code = sys._getframe(1).f_code
            mine = "/lompo/" in code.co_filename and "/tests/" not in code.co_filename  # not torch's or the test's
            if mine and code.co_name not in HOST_SIDE:
                calls[_name] += 1
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, counted)
    return calls


@pytest.mark.parametrize(
    ("algo", "phase", "steps"),
    [("lompo", "model", range(3)), ("lompo", "agent", [1, 2, 3]), ("offline_dv2", "model", range(3)),
     ("offline_dv2", "agent", range(3)), ("drqbc", "agent", range(3)), ("cql", "agent", range(2)),
     ("bc", "agent", range(2))],
)  # fmt: skip
def test_a_training_step_copies_nothing_to_the_host(tmp_path, tiny_dataset, count_host_copies, algo, phase, steps):
    run = new_run(tmp_path / "run", tiny_dataset, algo=algo)
    built = run.spec.build(run.config, run.open_store(), seed=0)
    if phase == "agent" and algo == "lompo":
        built.train_step("buffers", 0)  # fills the replay buffers, which live on the device too
    count_host_copies.update({name: 0 for name in HOST_COPIES})
    metrics = {}
    for step in steps:
        metrics = built.train_step(phase, step)
    assert count_host_copies == {name: 0 for name in HOST_COPIES}
    values = metric_values(metrics)
    assert count_host_copies["tolist"] == 1 and all(isinstance(v, (int, float)) for v in values.values())
    assert values and all(v == v for v in values.values())  # numbers, none NaN


@pytest.mark.parametrize(
    ("algo", "phase", "steps"),
    [("lompo", "model", range(2)), ("lompo", "agent", [1, 2, 3]), ("offline_dv2", "model", range(2)),
     ("offline_dv2", "agent", range(2)), ("drqbc", "agent", range(2))],
)  # fmt: skip
def test_frames_resident_on_the_device_train_exactly_as_the_store(tmp_path, tiny_dataset, algo, phase, steps):
    """``resident_frames``: every training sampler gathers from one copy of the frames in the device's memory
    (here the CPU's), and the steps compute the same numbers as with frames read from the store."""
    values = []
    for resident in (False, True):
        run = new_run(tmp_path / f"run-{resident}", tiny_dataset, algo=algo, resident_frames=resident)
        torch.manual_seed(0)
        built = run.spec.build(run.config, run.open_store(), seed=0)
        names = ("model_sampler", "refresh_sampler", "start_sampler", "sampler")
        kinds = {type(getattr(built, name).frames).__name__ for name in names if hasattr(built, name)}
        assert kinds == {"DeviceFrames" if resident else "StoreFrames"}
        if phase == "agent" and algo == "lompo":
            built.train_step("buffers", 0)
        values.append([metric_values(built.train_step(phase, step)) for step in steps])
    assert values[0] == values[1]
