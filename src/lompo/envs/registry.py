"""Task registry: the DMC tasks lompo knows, with the conventions of both papers.

Conventions (V-D4RL section 4.1.1, LOMPO appendix C): action repeat 2, 1000
simulator control steps per episode (so 500 agent steps), camera 0 except
quadruped (camera 2).

Reference returns are used for D4RL-style normalisation
``100 * (R - R_random) / (R_expert - R_random)``. For the V-D4RL tasks they are
the mean episode returns of V-D4RL's own ``random`` and ``expert`` datasets
(V-D4RL Appendix A, Table 5). Tasks without published references have ``None``;
a dataset we write records its own references in ``dataset.json``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from lompo.envs.variants import parse_variant, variant_suffix
from lompo.errors import ConfigError


@dataclass(frozen=True)
class TaskSpec:
    name: str  # "walker-walk"
    domain: str  # dm_control domain, "walker"
    task: str  # dm_control task, "walk"
    action_repeat: int = 2
    camera: int = 0
    episode_length: int = 1000  # simulator control steps per episode
    random_return: float | None = None
    expert_return: float | None = None
    reference_source: str = ""
    # Dataset recipes (V-D4RL section 4.1.1 and Table 5):
    behaviour_frames: int = 1_000_000  # SAC budget (simulator frames) for the behaviour agent
    medium_threshold: float = 500.0  # evaluation return a "medium" checkpoint must reach consistently
    medium_replay_size: int = 100_000  # transitions of the medium_replay ("mixed") dataset
    variant: tuple[tuple[str, float], ...] = ()  # changed body (lompo.envs.variants), e.g. (("legs", 1.2),)
    camera_name: str = ""  # robot tasks (lompo.envs.robots): the named camera; DMC tasks use ``camera``
    proprio: bool = False  # models see proprioception beside images by default (LOMPO appendix A: D'Claw, pen)
    # The LOMPO paper's protocol (``lompo collect --protocol lompo``): transitions per dataset (LOMPO appendix A:
    # walker 100K, D'Claw 180K, Adroit 1M, Sawyer 50K).
    lompo_size: int = 100_000

    @property
    def folder_name(self) -> str:
        """``walker_walk`` (V-D4RL's folder name), ``walker_walk-legs1.2`` for a variant."""
        return f"{self.domain}_{self.task}" + "".join(f"-{name}{scale:g}" for name, scale in self.variant)

    @property
    def agent_steps(self) -> int:
        """Agent steps (transitions) per episode after action repeat."""
        return self.episode_length // self.action_repeat


_VD4RL = "V-D4RL Appendix A Table 5 (dataset mean returns)"

TASKS: dict[str, TaskSpec] = {
    spec.name: spec
    for spec in [
        # Tasks of the papers.
        TaskSpec("walker-walk", "walker", "walk", random_return=42.3, expert_return=969.8, reference_source=_VD4RL),
        TaskSpec(
            "cheetah-run",
            "cheetah",
            "run",
            random_return=6.6,
            expert_return=891.1,
            reference_source=_VD4RL,
            medium_replay_size=200_000,
        ),
        TaskSpec(
            "humanoid-walk",
            "humanoid",
            "walk",
            random_return=1.1,
            expert_return=858.1,
            reference_source=_VD4RL,
            behaviour_frames=10_000_000,
            medium_replay_size=600_000,
        ),
        # Cheap tasks for CPU work; their behaviour agents converge within a few hundred thousand frames.
        TaskSpec("cartpole-swingup", "cartpole", "swingup", behaviour_frames=300_000),
        TaskSpec("cartpole-balance", "cartpole", "balance", behaviour_frames=200_000),
        TaskSpec("reacher-easy", "reacher", "easy", behaviour_frames=300_000),
        TaskSpec("point_mass-easy", "point_mass", "easy", behaviour_frames=300_000),
        TaskSpec("finger-spin", "finger", "spin"),
        TaskSpec("walker-stand", "walker", "stand"),
        TaskSpec("walker-run", "walker", "run"),
        TaskSpec("hopper-hop", "hopper", "hop"),
        TaskSpec("quadruped-walk", "quadruped", "walk", camera=2),
        TaskSpec("quadruped-run", "quadruped", "run", camera=2),
        # The LOMPO paper's robot tasks (lompo.envs.robots; pip install 'lompo[robots]'): domain = suite.
        TaskSpec(
            "door-open",
            "metaworld",
            "door-open-v3",
            action_repeat=4,
            episode_length=500,
            camera_name="corner",
            lompo_size=50_000,
        ),
        TaskSpec(
            "adroit-pen",
            "adroit",
            "AdroitHandPen-v1",
            action_repeat=4,
            episode_length=200,
            camera_name="fixed",
            proprio=True,
            lompo_size=1_000_000,
        ),
        TaskSpec(
            "dclaw-screw",
            "dclaw",
            "screw",
            action_repeat=2,
            episode_length=80,
            camera_name="lompo",
            proprio=True,
            lompo_size=180_000,
        ),
    ]
}


def normalize_task_name(name: str) -> str:
    """Accept ``walker-walk``, ``walker_walk`` (V-D4RL folder names) and ``walker/walk``; a variant's
    suffix (``?legs=1.2``, ``@B``) is kept as it is."""
    name = name.strip()
    for mark in ("?", "@"):
        if mark in name:
            base, _, rest = name.partition(mark)
            return normalize_task_name(base) + mark + rest
    name = name.lower().replace("/", "-")
    if name in TASKS:
        return name
    if "_" in name and "-" not in name:
        # V-D4RL writes walker_walk; domains may contain "_" (point_mass) so try each split.
        parts = name.split("_")
        for i in range(1, len(parts)):
            candidate = "_".join(parts[:i]) + "-" + "_".join(parts[i:])
            if candidate in TASKS:
                return candidate
    return name


def get_task(name: str, **overrides) -> TaskSpec:
    """Look up a task by name; ``overrides`` replace fields (e.g. ``action_repeat=4``). A variant
    (``walker-walk?legs=1.2``, ``walker-walk@B``; :mod:`lompo.envs.variants`) is the task with a changed
    body and no reference returns (those of the original body do not apply)."""
    key = normalize_task_name(name)
    base, mark, variant_text = key, "", ""
    for candidate in ("?", "@"):
        if candidate in key:
            base, mark, variant_text = key.partition(candidate)
    if base not in TASKS:
        known = ", ".join(sorted(TASKS))
        raise ConfigError(f"unknown task {name!r}; known tasks: {known}")
    spec = TASKS[base]
    if mark:
        variant = parse_variant(spec.domain, variant_text)
        spec = replace(
            spec,
            name=base + variant_suffix(variant),
            variant=variant,
            random_return=None,
            expert_return=None,
            reference_source="",
        )
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if overrides:
        spec = replace(spec, **overrides)
    if spec.action_repeat < 1 or spec.episode_length % spec.action_repeat:
        raise ConfigError(
            f"task {spec.name}: action repeat {spec.action_repeat} must be >= 1 and divide "
            f"the episode length {spec.episode_length}"
        )
    return spec
