"""Dataset collection: behaviour policies and V-D4RL recipes."""

from lompo.collect.recipes import DatasetWriter, collect_random, dataset_folder, rollout

__all__ = ["DatasetWriter", "collect_random", "dataset_folder", "rollout"]
