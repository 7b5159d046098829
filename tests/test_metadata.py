"""dataset.json is validated once, at load, with the field and file named; discovery stays inside the
given folder; a dataset whose task or camera does not fit its data stops training before any update."""

import json
import os
import shutil

import pytest

from lompo.data import scan_dataset
from lompo.data.dataset import find_dataset_folders
from lompo.errors import ConfigError, DatasetError

from helpers import new_run


@pytest.fixture
def dataset(tmp_path, tiny_dataset):
    folder = tmp_path / "cartpole_swingup" / "random" / "32px"
    shutil.copytree(tiny_dataset, folder)
    return folder


def _set_metadata(folder, **fields):
    path = folder / "dataset.json"
    meta = json.loads(path.read_text())
    meta.update(fields)
    path.write_text(json.dumps(meta))


@pytest.mark.parametrize(
    "field, value, message",
    [
        ("action_bounds", "ab", "field 'action_bounds' must be [low, high]"),
        ("files", [], "field 'files' must be an object"),
        ("reference_returns", "oops", "field 'reference_returns' must be an object"),
        ("camera", -3, "field 'camera' must be an integer 0-64"),
        ("task", 123, "field 'task' must be a task name"),
        ("episode_length", 10**12, "field 'episode_length' must be an integer"),
        ("image_size", 2.5, "field 'image_size' must be an integer"),
    ],
)
def test_wrong_field_types_and_ranges_are_named_with_the_file(dataset, field, value, message):
    _set_metadata(dataset, **{field: value})
    with pytest.raises(DatasetError, match="dataset.json") as caught:
        scan_dataset(dataset)
    assert message in str(caught.value)


def test_deep_nesting_a_pipe_or_a_huge_file_is_refused_without_reading_it_all(dataset):
    (dataset / "dataset.json").write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(DatasetError, match="nested too deeply"):
        scan_dataset(dataset)
    (dataset / "dataset.json").unlink()
    os.mkfifo(dataset / "dataset.json")  # reading it would block forever
    with pytest.raises(DatasetError, match="not a regular file"):
        scan_dataset(dataset)
    (dataset / "dataset.json").unlink()
    os.symlink("/dev/zero", dataset / "dataset.json")
    with pytest.raises(DatasetError, match="not a regular file"):
        scan_dataset(dataset)


def test_discovery_follows_links_only_inside_the_root_and_lists_each_folder_once(tmp_path, dataset):
    root = tmp_path / "cartpole_swingup"
    (dataset.parent / "up").symlink_to(root, target_is_directory=True)  # a loop
    (root / "sibling").symlink_to(tmp_path.parent, target_is_directory=True)  # leaves the root
    assert find_dataset_folders(root) == [dataset]


def test_a_task_or_camera_that_does_not_fit_the_data_stops_training_before_any_update(tmp_path, dataset):
    _set_metadata(dataset, task="walker-walk")  # 6-D actions; the data has 1
    run = new_run(tmp_path / "run", dataset)
    with pytest.raises(ConfigError, match="actions have 1 dimensions, the task 'walker-walk' takes 6"):
        run.train()
    assert not run.checkpoints.exists() and not run.metrics_path.exists()
    _set_metadata(dataset, task="cartpole-swingup", camera=60)
    with pytest.raises(ConfigError, match="cannot build the evaluation environment"):
        new_run(tmp_path / "run2", dataset).train()
