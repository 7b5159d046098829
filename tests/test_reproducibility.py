"""Runs are bit-reproducible for a given thread count: two instances of an algorithm built from the same
seed and trained with 2 threads (the quickstart's and CI's count) at the ``cpu`` preset end with
identical weights. Multi-threaded kernels whose reductions depend on scheduling would break this (an
indexed weight's backward did, docs/reliability.md: with ``weight[members]`` back in ``EnsembleLinear``
the LOMPO case fails)."""

import pytest
import torch

from lompo.algos.drq import PRESETS as DRQ_PRESETS
from lompo.algos.drq import DrQ, DrQConfig
from lompo.algos.lompo import PRESETS as LOMPO_PRESETS
from lompo.algos.lompo import Lompo, LompoConfig
from lompo.algos.offline_dv2 import PRESETS as DV2_PRESETS
from lompo.algos.offline_dv2 import OfflineDV2, OfflineDV2Config
from lompo.data.store import load_store

from helpers import random_cartpole


@pytest.fixture(scope="module")
def cartpole64(tmp_path_factory):
    return load_store(random_cartpole(tmp_path_factory.mktemp("data"), episodes=2, size=64, seed=0))


CASES = {
    "lompo world model": (Lompo, LompoConfig, LOMPO_PRESETS, "model"),
    "offline_dv2 world model": (OfflineDV2, OfflineDV2Config, DV2_PRESETS, "model"),
    "drqbc update": (DrQ, DrQConfig, DRQ_PRESETS, "agent"),
}


def trained_weights(algo_class, config_class, presets, phase, store) -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    algo = algo_class(config_class(**presets["cpu"]), store, seed=0)
    for step in range(2):
        algo.train_step(phase, step)
    modules = {"model": algo.model} if phase == "model" else {"actor": algo.actor, "critic": algo.critic}
    return {f"{m}.{k}": v.detach().clone() for m, module in modules.items() for k, v in module.state_dict().items()}


@pytest.mark.parametrize("case", list(CASES))
def test_two_threads_train_bit_identically_from_the_same_seed(cartpole64, case):
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        first, second = (trained_weights(*CASES[case], cartpole64) for _ in range(2))
    finally:
        torch.set_num_threads(threads)
    assert first.keys() == second.keys()
    different = [name for name in first if not torch.equal(first[name], second[name])]
    assert not different, f"{case}: weights differ between two identical runs: {different[:5]}"
