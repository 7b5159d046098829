"""Episode data: files, validation, dataset folders, the memory-mapped store, samplers."""

from lompo.data.dataset import DatasetIndex, find_dataset_folders, read_metadata, scan_dataset, write_metadata
from lompo.data.episodes import EpisodeBuilder, inspect_episode, read_episode, write_episode
from lompo.data.samplers import SequenceSampler, TransitionSampler
from lompo.data.stats import ReturnStatistics, return_statistics, statistics_table
from lompo.data.store import EpisodeStore, load_store
from lompo.data.vd4rl_hdf5 import inspect_hdf5, read_hdf5_episode, write_hdf5_shard

__all__ = [
    "DatasetIndex",
    "EpisodeBuilder",
    "EpisodeStore",
    "ReturnStatistics",
    "SequenceSampler",
    "TransitionSampler",
    "find_dataset_folders",
    "inspect_episode",
    "inspect_hdf5",
    "load_store",
    "read_episode",
    "read_hdf5_episode",
    "read_metadata",
    "return_statistics",
    "scan_dataset",
    "statistics_table",
    "write_episode",
    "write_hdf5_shard",
    "write_metadata",
]
