"""Dataset collection: state-based SAC behaviour agents and the V-D4RL recipes."""

from lompo.collect.behaviour import BehaviourConfig, policy_levels, train_behaviour
from lompo.collect.recipes import (
    RECIPES,
    DatasetWriter,
    collect,
    collect_random,
    dataset_folder,
    render_stored_episode,
    rollout,
)

__all__ = [
    "RECIPES",
    "BehaviourConfig",
    "DatasetWriter",
    "collect",
    "collect_random",
    "dataset_folder",
    "policy_levels",
    "render_stored_episode",
    "rollout",
    "train_behaviour",
]
