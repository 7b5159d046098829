"""The world model's initial weights: the published (Keras) initialisation, or PyTorch's defaults."""

import math

import pytest
import torch
from torch import nn

from lompo.algos import offline_dv2
from lompo.algos.lompo import PRESETS, LompoConfig, WorldModel
from lompo.algos.offline_dv2 import OfflineDV2Config
from lompo.errors import ConfigError
from lompo.nets.init import glorot_bound
from lompo.nets.mlp import EnsembleLinear


def _layers(model):
    return [m for m in model.modules() if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d, EnsembleLinear))]


def _fans(layer):
    if isinstance(layer, EnsembleLinear):
        return layer.weight.shape[1], layer.weight.shape[2]
    return nn.init._calculate_fan_in_and_fan_out(layer.weight)


def _world_model(algo: str, init: str):
    """The ``cpu``-preset world model of LOMPO or Offline DV2 (with a proprioception encoder and head)."""
    if algo == "lompo":
        return WorldModel(LompoConfig(**{**PRESETS["cpu"], "init": init}), 64, 1, proprio_dim=3)
    config = OfflineDV2Config(**{**offline_dv2.PRESETS["cpu"], "init": init})
    return offline_dv2.WorldModel(config, 64, 1, proprio_dim=3)


@pytest.mark.parametrize("algo", ["lompo", "offline_dv2"])
def test_the_world_model_starts_from_glorot_weights_and_zero_biases(algo):
    """As the authors' Keras layers (LOMPO's, DreamerV2's): weights U(±sqrt(6 / (fan_in + fan_out))) —
    within the bound, with the uniform distribution's standard deviation — zero biases; LOMPO's GRU
    recurrence orthogonal (DreamerV2's GRU is one dense layer on [input, state])."""
    torch.manual_seed(0)
    model = _world_model(algo, "glorot")
    layers = _layers(model)
    assert len(layers) > 15
    for layer in layers:
        bound = glorot_bound(*_fans(layer))
        weight = layer.weight.detach()
        assert weight.abs().max() <= bound
        if weight.numel() >= 4000:
            assert weight.std().item() == pytest.approx(bound / math.sqrt(3), rel=0.05), layer
        assert layer.bias is None or torch.count_nonzero(layer.bias) == 0, layer
    if algo != "lompo":
        return
    gru = model.rssm.gru
    assert torch.count_nonzero(gru.bias_ih) == 0 and torch.count_nonzero(gru.bias_hh) == 0
    hh = gru.weight_hh.detach()  # (3 units, units): orthonormal columns
    assert torch.allclose(hh.T @ hh, torch.eye(hh.shape[1]), atol=1e-5)


@pytest.mark.parametrize("algo", ["lompo", "offline_dv2"])
def test_torch_initialisation_keeps_pytorchs_layer_defaults(algo):
    """``init=torch`` (runs made before the setting existed): biases drawn like the weights, U(±1/sqrt(fan_in))."""
    torch.manual_seed(0)
    for layer in _layers(_world_model(algo, "torch")):
        fan_in = _fans(layer)[0]
        assert layer.bias is None or torch.count_nonzero(layer.bias) > 0
        assert layer.weight.abs().max() <= 1 / math.sqrt(fan_in) + 1e-7


@pytest.mark.parametrize("name, activation", [("relu", nn.ReLU), ("elu", nn.ELU)])
def test_conv_activation_sets_the_encoder_and_decoder_nonlinearity(name, activation):
    model = WorldModel(LompoConfig(**{**PRESETS["tiny"], "conv_activation": name}), 32, 1)
    for net in (model.encoder.net, model.decoder.net):
        acts = [m for m in net if not isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
        assert acts and all(type(m) is activation for m in acts)


@pytest.mark.parametrize(
    "config, field, value",
    [(LompoConfig, "init", "xavier"), (LompoConfig, "conv_activation", "gelu"), (OfflineDV2Config, "init", "he")],
)
def test_unknown_choices_are_refused_by_name(config, field, value):
    with pytest.raises(ConfigError, match=field):
        config(**{field: value}).validate()


@pytest.mark.parametrize("config", [LompoConfig, OfflineDV2Config])
def test_settings_written_before_init_existed_mean_pytorchs_initialisation(config):
    """A run directory made before the field existed (its world model started from PyTorch's defaults)
    reads back as ``init=torch``; a new run gets the published initialisation."""
    from lompo.runtime.config import with_added_settings

    assert config().init == "glorot"
    assert with_added_settings({"depth": 16}, config)["init"] == "torch"
    assert with_added_settings({"init": "glorot"}, config)["init"] == "glorot"
