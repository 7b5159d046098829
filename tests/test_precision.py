"""``precision=bf16``: the conv networks (and DrQ's trunk projections) compute in bfloat16 under
autocast; weights, gradients and their outputs stay fp32, and the outputs stay close to fp32's."""

import pytest
import torch

from lompo.algos.drq import PRESETS as DRQ_PRESETS
from lompo.algos.drq import DrQ, DrQConfig
from lompo.algos.lompo import PRESETS as LOMPO_PRESETS
from lompo.algos.lompo import Lompo, LompoConfig
from lompo.algos.offline_dv2 import PRESETS as DV2_PRESETS
from lompo.algos.offline_dv2 import OfflineDV2, OfflineDV2Config
from lompo.data.store import load_store
from lompo.errors import ConfigError
from lompo.nets import ConvDecoder, ConvEncoder
from lompo.nets.precision import use_precision


def record_conv_output_dtypes(modules: list[torch.nn.Module]) -> list[torch.dtype]:
    """The dtype of every convolution's output in the next forward passes (filled as they run)."""
    seen: list[torch.dtype] = []
    for module in modules:
        for sub in module.modules():
            if isinstance(sub, torch.nn.Conv2d | torch.nn.ConvTranspose2d):
                sub.register_forward_hook(lambda _m, _i, out: seen.append(out.dtype))
    return seen


@pytest.mark.parametrize("precision, conv_dtype", [("fp32", torch.float32), ("bf16", torch.bfloat16)])
def test_conv_networks_compute_in_the_chosen_precision_and_return_fp32(precision, conv_dtype):
    torch.manual_seed(0)
    encoder, decoder = ConvEncoder(64, depth=8), ConvDecoder(24, 64, depth=8)
    reference = (ConvEncoder(64, depth=8), ConvDecoder(24, 64, depth=8))
    reference[0].load_state_dict(encoder.state_dict())
    reference[1].load_state_dict(decoder.state_dict())
    use_precision(encoder, precision)
    use_precision(decoder, precision)
    seen = record_conv_output_dtypes([encoder, decoder])
    images = torch.randint(0, 256, (4, 64, 64, 3), dtype=torch.uint8)
    features = torch.randn(4, 24)
    embed, image = encoder(images), decoder(features)
    assert seen and set(seen) == {conv_dtype}
    assert embed.dtype == image.dtype == torch.float32
    # bfloat16 keeps 8 bits of mantissa: outputs within a few per cent of the fp32 networks'
    for ours, theirs in ((embed, reference[0](images)), (image, reference[1](features))):
        error = (ours - theirs).norm() / theirs.norm()
        assert error < (1e-6 if precision == "fp32" else 3e-2)
    (embed.square().mean() + image.square().mean()).backward()
    for net in (encoder, decoder):
        for name, p in net.named_parameters():
            assert p.dtype == torch.float32 and p.grad is not None and p.grad.dtype == torch.float32, name
            assert torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name


def test_every_algorithm_sets_the_precision_of_its_conv_networks(tiny_dataset):
    store = load_store(tiny_dataset)
    lompo = Lompo(LompoConfig(**{**LOMPO_PRESETS["tiny"], "precision": "bf16"}), store)
    dv2 = OfflineDV2(OfflineDV2Config(**{**DV2_PRESETS["tiny"], "precision": "bf16"}), store)
    drq = DrQ(DrQConfig(**{**DRQ_PRESETS["tiny"], "objective": "cql", "precision": "bf16"}), store)
    modules = [lompo.model, dv2.model, drq.encoder, drq.actor, drq.critic, drq.critic_target]
    settings = [sub.precision for m in modules for sub in m.modules() if hasattr(sub, "precision")]
    assert len(settings) == 2 + 2 + 1 + 1 + 1 + 1 and set(settings) == {"bf16"}
    for algo in (lompo, dv2):
        metrics = algo.train_step("model", 0)
        assert torch.isfinite(torch.as_tensor(metrics["model/loss"]))
    metrics = drq.train_step("agent", 0)
    assert all(torch.isfinite(torch.as_tensor(v)).all() for v in metrics.values())


@pytest.mark.parametrize("config", [LompoConfig, OfflineDV2Config, DrQConfig])
def test_an_unknown_precision_is_refused(config):
    with pytest.raises(ConfigError, match="precision must be one of fp32, bf16"):
        config(precision="fp16").validate()


WORLD_MODEL_ALGORITHMS = [(Lompo, LompoConfig, LOMPO_PRESETS), (OfflineDV2, OfflineDV2Config, DV2_PRESETS)]


@pytest.mark.parametrize("algo_class, config_class, presets", WORLD_MODEL_ALGORITHMS)
def test_channels_last_world_model_steps_equal_the_contiguous_ones(tiny_dataset, algo_class, config_class, presets):
    """The default memory format of the conv networks (``channels_last``) is a speed choice only: the same
    seed gives the same losses and weights as contiguous tensors, within float rounding, step after step."""
    store = load_store(tiny_dataset)
    runs = []
    for channels_last in (False, True):
        torch.manual_seed(0)
        algo = algo_class(config_class(**{**presets["tiny"], "channels_last": channels_last}), store, seed=0)
        losses = [float(algo.train_step("model", step)["model/loss"]) for step in range(3)]
        runs.append((losses, {k: v.detach().clone() for k, v in algo.model.state_dict().items()}))
    (plain_losses, plain_weights), (fast_losses, fast_weights) = runs
    assert fast_losses == pytest.approx(plain_losses, rel=1e-5)
    for name, weight in plain_weights.items():
        torch.testing.assert_close(fast_weights[name], weight, rtol=1e-4, atol=1e-6, msg=name)
