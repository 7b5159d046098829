"""Task variants with visibly changed bodies (V-D4RL section 5.2, after MTEnv and Zhang et al. 2021):
walker with scaled leg length, cheetah with scaled torso length, built by editing the domain's MJCF
before it is compiled.

A variant is named ``TASK?PARAMETER=SCALE`` (``walker-walk?legs=1.2``) or by one of the eight settings
``TASK@A`` .. ``TASK@H`` ordered by length (:data:`SETTINGS`). V-D4RL trains on B, C, F, G in equal
parts and tests interpolation on D, E and extrapolation on A, H; the scales are ours (V-D4RL does not
list MTEnv's), symmetric around the original body:

- ``legs`` (walker): the thighs and shins (their capsules, the knee and the foot's attachment) scaled
  along their length; the torso starts higher by the added leg length so the feet start on the floor.
- ``torso`` (cheetah): the torso capsule and the thighs' attachment points scaled along the body; the
  head stays at the torso's front end. ``settotalmass`` keeps the cheetah's total mass at 14.
"""

from __future__ import annotations

import contextlib
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from typing import Any

from lompo.errors import ConfigError

SETTINGS = {"A": 0.6, "B": 0.7, "C": 0.8, "D": 0.9, "E": 1.1, "F": 1.2, "G": 1.3, "H": 1.4}
SPLITS = {"train": ("B", "C", "F", "G"), "interpolation": ("D", "E"), "extrapolation": ("A", "H")}
SCALE_RANGE = (0.3, 3.0)


def _floats(text: str) -> list[float]:
    return [float(x) for x in text.split()]


def _text(values: list[float]) -> str:
    return " ".join(f"{v:.6g}" for v in values)


def _scale_attribute(element: ET.Element, name: str, index: int, scale: float, default: str | None = None) -> None:
    text = element.get(name, default)
    if text is None:
        return
    values = _floats(text)
    values[index] *= scale
    element.set(name, _text(values))


def scale_walker_legs(root: ET.Element, scale: float) -> None:
    torso = root.find(".//body[@name='torso']")
    assert torso is not None
    hip_to_foot = 0.0
    for side in ("right", "left"):
        thigh = torso.find(f"body[@name='{side}_thigh']")
        assert thigh is not None
        for geom in thigh.iter("geom"):
            if geom.get("name", "").endswith("_foot"):
                continue
            _scale_attribute(geom, "pos", 2, scale)
            _scale_attribute(geom, "size", 1, scale)
        leg, foot = thigh.find("body"), thigh.find("body/body")
        assert leg is not None and foot is not None
        hip_to_foot = -(_floats(leg.get("pos", "0 0 0"))[2] + _floats(foot.get("pos", "0 0 0"))[2])
        for body in (leg, foot):
            _scale_attribute(body, "pos", 2, scale)
        for joint in leg.findall("joint"):
            _scale_attribute(joint, "pos", 2, scale)
    position = _floats(torso.get("pos", "0 0 0"))
    position[2] += (scale - 1) * hip_to_foot
    torso.set("pos", _text(position))


def scale_cheetah_torso(root: ET.Element, scale: float) -> None:
    torso = root.find(".//body[@name='torso']")
    assert torso is not None
    capsule = torso.find("geom[@name='torso']")
    head = torso.find("geom[@name='head']")
    assert capsule is not None and head is not None
    ends = _floats(capsule.get("fromto", ""))
    front = ends[3]
    capsule.set("fromto", _text([ends[0] * scale, *ends[1:3], ends[3] * scale, *ends[4:]]))
    head_position = _floats(head.get("pos", "0 0 0"))
    head_position[0] += front * (scale - 1)
    head.set("pos", _text(head_position))
    for thigh in ("bthigh", "fthigh"):
        body = torso.find(f"body[@name='{thigh}']")
        assert body is not None
        _scale_attribute(body, "pos", 0, scale)


PARAMETERS: dict[str, dict[str, Callable[[ET.Element, float], None]]] = {
    "walker": {"legs": scale_walker_legs},
    "cheetah": {"torso": scale_cheetah_torso},
}


def parse_variant(domain: str, text: str) -> tuple[tuple[str, float], ...]:
    """``legs=1.2`` (``&``-separated for several) or a setting letter ``A``..``H`` -> ``(("legs", 1.2),)``."""
    known = PARAMETERS.get(domain)
    if not known:
        raise ConfigError(f"the {domain} domain has no variants; variants exist for {sorted(PARAMETERS)}")
    if text.upper() in SETTINGS:
        (parameter,) = known  # one parameter per domain: the settings scale it
        return ((parameter, SETTINGS[text.upper()]),)
    pairs = []
    for part in text.split("&"):
        name, _, value = part.partition("=")
        if name not in known:
            raise ConfigError(f"unknown {domain} variant parameter {name!r}; known: {sorted(known)}")
        try:
            scale = float(value)
        except ValueError:
            raise ConfigError(f"variant {part!r}: the scale must be a number") from None
        if not SCALE_RANGE[0] <= scale <= SCALE_RANGE[1]:
            raise ConfigError(f"variant {part!r}: the scale must be within {SCALE_RANGE}")
        pairs.append((name, scale))
    return tuple(sorted(pairs))


def variant_suffix(variant: tuple[tuple[str, float], ...]) -> str:
    """``?legs=1.2``: what a variant adds to its task's name."""
    return "?" + "&".join(f"{name}={scale:g}" for name, scale in variant) if variant else ""


def edit_model(xml: bytes | str, domain: str, variant: tuple[tuple[str, float], ...]) -> str:
    root = ET.fromstring(xml)
    for name, scale in variant:
        PARAMETERS[domain][name](root, scale)
    return ET.tostring(root, encoding="unicode")


@contextlib.contextmanager
def variant_model(domain: str, variant: tuple[tuple[str, float], ...]) -> Iterator[None]:
    """While open, the dm_control suite builds ``domain`` from the edited MJCF (suite.load inside)."""
    if not variant:
        yield
        return
    import importlib

    module: Any = importlib.import_module(f"dm_control.suite.{domain}")
    original = module.get_model_and_assets

    def edited():
        xml, assets = original()
        return edit_model(xml, domain, variant), assets

    module.get_model_and_assets = edited  # read by the domain's task functions at call time
    try:
        yield
    finally:
        module.get_model_and_assets = original


__all__ = ["PARAMETERS", "SETTINGS", "SPLITS", "edit_model", "parse_variant", "variant_model", "variant_suffix"]
