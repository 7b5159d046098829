"""Convolutional image encoder and decoder of the LOMPO world model (LOMPO appendix C).

64 px: 4 conv layers, channels depth x [1, 2, 4, 8], kernel 4, stride 2 -> 2x2x8depth
(1024 features at depth 32). Decoder: linear to 32*depth, then transposed convs
with channels [4d, 2d, d, 3] and kernels [5, 5, 6, 6], stride 2 -> 64x64.
128 px: 5 layers [1, 2, 4, 8, 8] x depth; decoder [4d, 2d, d, d, 3]. The paper
lists decoder kernels [5, 5, 5, 4, 4], which with stride 2 and no padding give
122 px, not 128; we use [5, 5, 5, 6, 6], the smallest change that reaches 128.
32 px (tests only): 3 layers, decoder kernels [5, 6, 6].
Pixels enter as ``x / 255 - 0.5`` (Dreamer convention).
"""

from __future__ import annotations

from typing import cast

import torch
from torch import nn

from lompo.errors import ConfigError
from lompo.nets.mlp import mlp
from lompo.nets.precision import compute_in

# image size -> (encoder channel multipliers, decoder channel multipliers, decoder kernels)
_LAYOUTS = {
    32: ((1, 2, 4), (2, 1), (5, 6, 6)),
    64: ((1, 2, 4, 8), (4, 2, 1), (5, 5, 6, 6)),
    128: ((1, 2, 4, 8, 8), (4, 2, 1, 1), (5, 5, 5, 6, 6)),
}


def conv_layout(image_size: int):
    if image_size not in _LAYOUTS:
        raise ConfigError(f"the world model supports images of {sorted(_LAYOUTS)} px, got {image_size}")
    return _LAYOUTS[image_size]


def preprocess(image: torch.Tensor) -> torch.Tensor:
    """uint8 ``(..., H, W, 3)`` -> float ``(..., 3, H, W)`` in [-0.5, 0.5]."""
    return image.movedim(-1, -3).float() / 255.0 - 0.5


class ConvEncoder(nn.Module):
    """``act``: ReLU in LOMPO, ELU in DreamerV2 (Offline DV2). With ``proprio_dim > 0`` the embedding
    is the conv features concatenated with an MLP embedding (``proprio_hidden`` units, ELU) of the
    proprioception (LOMPO appendix A: D'Claw and pen models merge both)."""

    def __init__(
        self,
        image_size: int = 64,
        depth: int = 32,
        act: type[nn.Module] = nn.ReLU,
        proprio_dim: int = 0,
        proprio_hidden: int = 0,
    ):
        super().__init__()
        mults, _, _ = conv_layout(image_size)
        layers: list[nn.Module] = []
        channels, size = 3, image_size
        for m in mults:
            layers += [nn.Conv2d(channels, m * depth, 4, stride=2), act()]
            channels, size = m * depth, (size - 4) // 2 + 1
        self.net = nn.Sequential(*layers)
        self.image_embed_dim = channels * size * size
        self.proprio_dim = proprio_dim
        self.proprio = mlp(proprio_dim, proprio_hidden, proprio_hidden, 1) if proprio_dim else None
        self.embed_dim = self.image_embed_dim + (proprio_hidden if proprio_dim else 0)
        self.precision = "fp32"  # of the convolutions (lompo.nets.precision), set by the algorithm

    def forward(self, image: torch.Tensor, proprio: torch.Tensor | None = None) -> torch.Tensor:
        """uint8 images ``(..., H, W, 3)`` (and proprioception ``(..., P)``) -> embeddings ``(..., embed_dim)``."""
        batch = image.shape[:-3]
        x = preprocess(image.reshape(-1, *image.shape[-3:]))
        with compute_in(self.precision, x.device):
            embed = self.net(x).float().reshape(*batch, self.image_embed_dim)
        if self.proprio is None:
            return embed
        if proprio is None:
            raise ConfigError("this encoder takes proprioception beside the images; none was given")
        return torch.cat([embed, self.proprio(proprio.float())], -1)


class ConvDecoder(nn.Module):
    """Latent features -> mean image in [-0.5, 0.5] scale, ``(..., 3, H, W)``; likelihood Normal(mean, 1)."""

    def __init__(self, feature_dim: int, image_size: int = 64, depth: int = 32, act: type[nn.Module] = nn.ReLU):
        super().__init__()
        _, mults, kernels = conv_layout(image_size)
        self.depth, self.image_size = depth, image_size
        self.linear = nn.Linear(feature_dim, 32 * depth)
        layers: list[nn.Module] = []
        channels = 32 * depth
        for m, k in zip(mults, kernels[:-1]):
            layers += [nn.ConvTranspose2d(channels, m * depth, k, stride=2), act()]
            channels = m * depth
        layers.append(nn.ConvTranspose2d(channels, 3, kernels[-1], stride=2))
        self.net = nn.Sequential(*layers)
        self.precision = "fp32"  # of the linear layer and convolutions (lompo.nets.precision)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        batch = features.shape[:-1]
        last = cast(nn.ConvTranspose2d, self.net[-1])
        with compute_in(self.precision, features.device):
            x = self.linear(features.reshape(-1, features.shape[-1]))
            x = self.net[1:-1](first_layer_as_matmul(cast(nn.ConvTranspose2d, self.net[0]), x))
            if self.precision == "fp32" and x.device.type == "cpu":  # measured faster there; elsewhere the layer
                x = LastLayerByParity.apply(x, last.weight, last.bias)
            else:
                x = last(x)
        return x.float().reshape(*batch, 3, self.image_size, self.image_size)


def first_layer_as_matmul(layer: nn.ConvTranspose2d, x: torch.Tensor) -> torch.Tensor:
    """``layer`` applied to ``x`` seen as a ``(N, C, 1, 1)`` image, computed as one matrix product.

    On a 1 x 1 input a transposed convolution only multiplies: output pixel (i, j) of channel o is
    ``sum_c x[c] * weight[c, o, i, j] + bias[o]``. CPU convolution kernels run this shape at a small
    fraction of the matmul rate (BENCHMARKS.md, "Decoder"); the parameters and the result are the
    layer's own, so checkpoints and numerics do not change (``tests/test_nets.py``)."""
    weight = layer.weight  # (C, O, k, k), contiguous unless converted to channels-last
    channels, out_channels, kh, kw = weight.shape
    y = x @ weight.reshape(channels, out_channels * kh * kw)
    y = y.reshape(-1, out_channels, kh, kw)
    return y if layer.bias is None else y + layer.bias.reshape(1, out_channels, 1, 1)


class LastLayerByParity(torch.autograd.Function):
    """The decoder's last transposed convolution (stride 2, 3 output channels): forward as one
    convolution whose ``4 x 3`` output channels are the four output-pixel parities, put in place by
    ``pixel_shuffle``; backward the layer's own (``convolution_backward``, transposed).

    Output pixel ``(2m + p, 2n + q)`` of a stride-2 transposed convolution sums input pixels
    ``(m - a, n - b)`` times kernel taps ``(p + 2a, q + 2b)``: a plain ``ceil(k/2)``-tap convolution
    of the input per parity ``(p, q)``, with the taps flipped. The same sums, so the output equals
    the layer's within float rounding (``tests/test_lompo_math.py``); on CPU oneDNN runs the
    transposed form at half its usual rate with 3 output channels, the parity form faster
    (BENCHMARKS.md, "Decoder: the last transposed convolution by output parity")."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x, weight)
        return transposed_conv_by_parity(x, weight, bias)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        x, weight = ctx.saved_tensors
        needs = list(ctx.needs_input_grad)
        return torch.ops.aten.convolution_backward(
            grad, x, weight, [weight.shape[1]], [2, 2], [0, 0], [1, 1], True, [0, 0], 1, needs
        )


def transposed_conv_by_parity(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """A stride-2, unpadded transposed convolution (``weight`` ``(in, out, k, k)``) as one convolution
    over the four output parities + ``pixel_shuffle`` (:class:`LastLayerByParity`'s forward)."""
    channels, out_channels, k, _ = weight.shape
    taps = (k + 1) // 2
    padded = nn.functional.pad(weight, (0, 2 * taps - k, 0, 2 * taps - k))  # odd k: a zero tap
    channels_last = x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()
    parity_weight = (
        padded.reshape(channels, out_channels, taps, 2, taps, 2)
        .permute(1, 3, 5, 0, 2, 4)  # (out, p, q, in, a, b)
        .flip(-1, -2)
        .reshape(4 * out_channels, channels, taps, taps)
        .contiguous(memory_format=torch.channels_last if channels_last else torch.contiguous_format)
    )
    y = nn.functional.pixel_shuffle(nn.functional.conv2d(x, parity_weight, padding=taps - 1), 2)
    side = (x.shape[-1] - 1) * 2 + k
    if y.shape[-1] != side:
        y = y[..., :side, :side]
    return y + bias.view(1, out_channels, 1, 1)
