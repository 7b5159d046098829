"""Adding an algorithm: one module (tests/toy_algorithm.py) and one registration line, then every
command works on it without touching runtime or bench code."""

import json
import os
from pathlib import Path

import pytest

from lompo.cli import main
from lompo.errors import ConfigError
from lompo.runtime import Algorithm, Run, WorldModelAlgorithm, algorithm_spec, register_algorithm
from lompo.runtime.algorithms import ALGORITHMS, REGISTRY_ENV

TESTS = Path(__file__).parent


@pytest.fixture
def toy_registered(monkeypatch):
    monkeypatch.setattr("lompo.runtime.algorithms.ALGORITHMS", dict(ALGORITHMS))
    monkeypatch.delenv(REGISTRY_ENV, raising=False)
    # the sweep's runs are separate processes: they find the module on PYTHONPATH
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")])))
    register_algorithm("toy_random", "toy_algorithm")  # the one registration line
    yield
    os.environ.pop(REGISTRY_ENV, None)


def test_a_registered_toy_algorithm_trains_evaluates_sweeps_and_reports(tmp_path, tiny_dataset, toy_registered, capsys):
    run_dir = tmp_path / "run"
    assert (
        main(["train", "--algo", "toy_random", "--data", str(tiny_dataset), "--preset", "tiny", "--out", str(run_dir)])
        == 0
    )
    final = json.loads((run_dir / "final.json").read_text())
    assert final["algo"] == "toy_random" and final["steps"] == {"agent": 4}
    assert "model_strip" not in final  # no world model: no strip
    algo = Run(run_dir).build(Run(run_dir).open_store())
    assert isinstance(algo, Algorithm) and not isinstance(algo, WorldModelAlgorithm)

    assert main(["evaluate", str(run_dir), "--episodes", "1"]) == 0
    assert "return" in capsys.readouterr().out

    sweep = tmp_path / "sweep"
    assert (
        main(
            [
                "bench",
                "--algos",
                "toy_random,bc",
                "--data",
                str(tiny_dataset),
                "--seeds",
                "0",
                "--preset",
                "tiny",
                "--workers",
                "1",
                "--out",
                str(sweep),
            ]
        )
        == 0
    )
    rows = (sweep / "results.csv").read_text()
    assert "toy_random" in rows and "bc" in rows
    assert main(["report", str(sweep)]) == 0
    assert "toy_random" in (sweep / "report.html").read_text()


def test_unknown_or_broken_registrations_are_named(monkeypatch):
    monkeypatch.setattr("lompo.runtime.algorithms.ALGORITHMS", dict(ALGORITHMS))
    monkeypatch.setenv(REGISTRY_ENV, "ghost=no_such_module_anywhere")
    with pytest.raises(ConfigError, match="unknown algorithm 'nope'"):
        algorithm_spec("nope")
    with pytest.raises(ConfigError, match="no_such_module_anywhere"):
        algorithm_spec("ghost")
