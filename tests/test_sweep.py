"""Sweeps on the local backend: rows and table, resume after a kill, world-model sharing."""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lompo.bench.sweep import SweepSpec, job_command, open_run, plan
from lompo.cli import main
from lompo.errors import ConfigError

from helpers import random_cartpole


@pytest.fixture(scope="module")
def second_dataset(tmp_path_factory):
    return random_cartpole(tmp_path_factory.mktemp("data2"), episodes=2, size=24, seed=1)


def _bench(out, data, extra=()):
    flags = ["--algos", "bc,drqbc", "--seeds", "0", "--preset", "tiny", "--workers", "2"]
    return ["bench", "--data", ",".join(map(str, data)), "--out", str(out), *flags, *extra]


def _rows(out):
    with open(out / "results.csv") as f:
        return list(csv.DictReader(f))


def test_two_by_two_sweep_rows_table_and_rerun(tmp_path, tiny_dataset, second_dataset, capsys):
    out = tmp_path / "sweep"
    assert main(_bench(out, [tiny_dataset, second_dataset])) == 0
    printed = capsys.readouterr().out
    rows = _rows(out)
    assert sorted((r["algo"], r["dataset"]) for r in rows) == [
        ("bc", "cartpole_swingup-random-24px"),
        ("bc", "cartpole_swingup-random-32px"),
        ("drqbc", "cartpole_swingup-random-24px"),
        ("drqbc", "cartpole_swingup-random-32px"),
    ]
    for row in rows:
        final = json.loads((out / row["dataset"] / row["algo"] / "seed0" / "final.json").read_text())
        assert row["status"] == "finished" and float(row["score"]) == pytest.approx(final["score_vd4rl"])
        assert float(row["return_mean"]) == pytest.approx(final["return_mean"]) and row["torch"]
    table = (out / "table.md").read_text()
    assert table.splitlines()[0] == "| algorithm | cartpole_swingup-random-32px | cartpole_swingup-random-24px |"
    assert "(1/1)" in table and table.strip() in printed
    data_mean = json.loads((Path(tiny_dataset) / "dataset.json").read_text())["statistics"]["mean"] / 10
    assert table.splitlines()[-1].startswith(f"| dataset mean | {data_mean:.1f} | ")
    assert sorted(p.name for p in out.glob("curves-*.png")) == [
        "curves-cartpole_swingup-random-24px.png",
        "curves-cartpole_swingup-random-32px.png",
    ]
    # the same command again: nothing is retrained
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("final.json")}
    assert main(_bench(out, [tiny_dataset, second_dataset])) == 0
    assert "4 runs, 4 already finished" in capsys.readouterr().out
    assert {p: p.stat().st_mtime_ns for p in out.rglob("final.json")} == stamps
    # another grid in the same folder is refused
    assert main(_bench(out, [tiny_dataset])) == 2
    assert "holds another sweep" in capsys.readouterr().err


def test_killed_sweep_finishes_without_redoing_finished_runs(tmp_path, tiny_dataset, second_dataset):
    out = tmp_path / "sweep"
    command = [sys.executable, "-m", "lompo.cli", *_bench(out, [tiny_dataset, second_dataset])]
    command[command.index("--workers") + 1] = "1"
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.time() + 240
    while not list(out.rglob("final.json")) and time.time() < deadline and process.poll() is None:
        time.sleep(0.05)
    first = list(out.rglob("final.json"))
    assert first, "no run finished"
    os.killpg(process.pid, signal.SIGKILL)  # the sweep and its training process
    process.wait()
    stamps = {p: p.stat().st_mtime_ns for p in first}
    assert len(list(out.rglob("final.json"))) < 4
    finished = subprocess.run(command, capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr[-2000:]
    assert len(list(out.rglob("final.json"))) == 4
    assert all(p.stat().st_mtime_ns == stamp for p, stamp in stamps.items())  # not redone
    assert all(r["status"] == "finished" for r in _rows(out))


def test_sigterm_to_the_sweep_stops_its_runs(tmp_path, tiny_dataset):
    out = tmp_path / "sweep"
    flags = ["--algos", "bc", "--seeds", "0", "--preset", "tiny", "--workers", "1", "--set", "bc:agent_steps=100000"]
    command = [sys.executable, "-m", "lompo.cli", "bench", "--data", str(tiny_dataset), "--out", str(out), *flags]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)  # fmt: skip
    deadline = time.time() + 120
    while not list(out.glob("*/bc/seed0/checkpoints/0-*")) and time.time() < deadline and process.poll() is None:
        time.sleep(0.05)
    assert list(out.glob("*/bc/seed0/checkpoints/0-*")), "the run made no checkpoint"
    process.send_signal(signal.SIGTERM)  # the sweep only, as `kill PID` does; not its process group
    try:
        _, stderr = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        raise AssertionError("the sweep waited for its run to finish instead of stopping it") from None
    assert process.returncode == 143 and "terminated (SIGTERM)" in stderr
    (log_file,) = out.glob("*/bc/seed0.log")
    log = log_file.read_text()
    assert "lompo train: terminated (SIGTERM)" in log  # the run was stopped, not orphaned
    with pytest.raises(ProcessLookupError):  # nothing of the sweep is left running
        os.killpg(process.pid, 0)


def test_ablations_wait_for_and_reuse_the_lompo_world_model(tmp_path, tiny_dataset):
    spec = SweepSpec(
        ["lompo", "lmbrl", "offline_slac", "bc"], [str(tiny_dataset)], [0, 1], "tiny", ["lompo:horizon=2", "threads=1"]
    )
    jobs = plan(spec, tmp_path)
    assert len(jobs) == 8
    by_name = {(j.algo, j.seed): j for j in jobs}
    for algo in ("lmbrl", "offline_slac"):
        job = by_name[(algo, 1)]
        assert job.after == by_name[("lompo", 1)].path
        run = open_run(job, spec, threads=1)
        assert run.settings.world_model == str(by_name[("lompo", 1)].path)
        assert run.config.horizon != 2  # the override is scoped to lompo
        assert job_command(job)[-3:] == ["--resume", str(job.path), "--no-progress"]
    assert by_name[("bc", 0)].after is None
    assert open_run(by_name[("lompo", 0)], spec, threads=1).config.horizon == 2
    with pytest.raises(ConfigError, match="unknown algorithm"):
        SweepSpec(["nope"], ["x"], [0]).validate()
    with pytest.raises(ConfigError, match="same name"):
        plan(SweepSpec(["bc"], [str(tiny_dataset), str(tiny_dataset)], [0]), tmp_path)


def test_report_is_self_contained_and_renders_in_headless_chromium(tmp_path, tiny_dataset, capsys):
    """`lompo report` on a finished sweep: one HTML file with the table, curves, video and config, no
    external resource; Chromium loads it without console errors and every image decodes."""
    from browser import check_in_chromium

    out = tmp_path / "sweep"
    flags = ["--algos", "bc", "--seeds", "0,1", "--preset", "tiny", "--workers", "2"]
    assert main(["bench", "--data", str(tiny_dataset), "--out", str(out), *flags]) == 0
    assert main(["report", str(out)]) == 0
    page_path = out / "report.html"
    text = page_path.read_text()
    assert "<table>" in text and "cartpole_swingup-random-32px" in text
    assert text.count("data:image/gif;base64,") == 2 and text.count("data:image/png;base64,") >= 1
    assert "http://" not in text and "https://" not in text and "<script" not in text

    seen = check_in_chromium(page_path, tmp_path / "report.png", width=1200, height=900, full_page=True)
    problems, images, rows = seen["problems"], seen["images"], seen["table_rows"]
    assert not problems, problems
    assert len(images) == 3 and all(done and width > 0 for done, width in images), images  # curve + 2 videos
    assert rows == 2  # one algorithm, then the dataset mean
    assert (tmp_path / "report.png").stat().st_size > 10_000

    light = tmp_path / "light.html"
    assert main(["report", str(out), "--no-videos", "--out", str(light)]) == 0
    light_text = light.read_text()
    assert "data:image/gif" not in light_text and "data:image/png;base64," in light_text  # curves stay
    assert "<table>" in light_text and len(light_text) < len(text)


def test_ray_backend_gives_the_same_rows_as_local(tmp_path, tiny_dataset):
    """The same 1 x 1 x 2 sweep on a local Ray instance (2 CPUs) and on local processes: same runs,
    same final returns (both with 1 torch thread per run)."""
    import ray

    from lompo.bench.results import write_results
    from lompo.bench.sweep import run_local, run_ray

    spec = SweepSpec(["bc"], [str(tiny_dataset)], [0, 1], "tiny", ["threads=1"])
    run_local(spec, tmp_path / "local", workers=2, log=lambda *a: None)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        run_ray(spec, tmp_path / "ray", cpus_per_trial=1, log=lambda *a: None)
    finally:
        ray.shutdown()
    local_rows, _ = write_results(tmp_path / "local")
    ray_rows, _ = write_results(tmp_path / "ray")
    keys = ("algo", "dataset", "seed", "status", "score", "return_mean", "episodes", "steps")
    assert [[r[k] for k in keys] for r in ray_rows] == [[r[k] for k in keys] for r in local_rows]
    assert len(ray_rows) == 2 and all(r["status"] == "finished" for r in ray_rows)
    # Tune kept the runs' checkpoints (what it restores a trial from after a worker failure)
    assert list((tmp_path / "ray" / "ray").rglob("checkpoint_*/manifest.json"))


def test_a_trial_restarted_elsewhere_resumes_from_the_checkpoint_tune_kept(tmp_path, tiny_dataset):
    """After a worker failure Tune hands the restarted trial its last reported checkpoint; when the run
    directory lacks it (another machine), it is copied in and the run resumes to the same result."""
    import shutil

    from ray import tune

    from lompo.bench.sweep import Job, _restore_from_tune, open_run
    from lompo.runtime import Run, latest_checkpoint

    spec = SweepSpec(["bc"], [str(tiny_dataset)], [0], "tiny", [])
    reference = open_run(Job("bc", str(tiny_dataset), 0, tmp_path / "reference"), spec, 1).train(log=lambda *a: None)

    run = open_run(Job("bc", str(tiny_dataset), 0, tmp_path / "run"), spec, 1)
    reported = []

    def stop_after_first_checkpoint(path, metrics):
        kept = tmp_path / "tune-kept"
        shutil.copytree(path, kept)
        (kept / "tune.json").write_text(json.dumps({"name": path.name}))
        reported.append(kept)
        raise KeyboardInterrupt  # the worker dies

    with pytest.raises(KeyboardInterrupt):
        run.train(log=lambda *a: None, on_checkpoint=stop_after_first_checkpoint)
    shutil.rmtree(run.checkpoints)  # a new machine: the run directory has no checkpoint
    _restore_from_tune(run, tune.Checkpoint.from_directory(reported[0]))
    assert latest_checkpoint(run.checkpoints).name == "0-000000003"  # tiny: the checkpoint at step 3
    resumed = Run(run.path).train(log=lambda *a: None)
    assert resumed["returns"] == reference["returns"]


def test_results_keep_the_data_statistics_each_run_recorded(tmp_path):
    """A dataset rebuilt at the same path (another behaviour agent, another mean return) does not
    relabel finished runs: tables use the statistics in each final.json and show every build's mean."""
    from lompo.bench.results import write_results

    data = tmp_path / "vd4rl" / "cartpole_swingup" / "expert" / "84px"
    data.mkdir(parents=True)
    (data / "dataset.json").write_text(json.dumps({"statistics": {"mean": 850.0}}))  # today's build

    def finished_run(seed, recorded_mean):
        run = tmp_path / "sweep" / "cartpole_swingup-expert-84px" / "bc" / f"seed{seed}"
        run.mkdir(parents=True)
        (run / "config.json").write_text(json.dumps({"run": {"algo": "bc", "data": str(data), "seed": seed}}))
        final = {
            "return_mean": 400.0,
            "return_std": 1.0,
            "score_vd4rl": 40.0,
            "episodes": 10,
            "steps": {"train": 10},
            "wall_time": 1.0,
        }
        if recorded_mean is not None:
            final.update(data_fingerprint=f"build{recorded_mean:.0f}", data_statistics={"mean": recorded_mean})
        (run / "final.json").write_text(json.dumps(final))

    finished_run(0, 800.0)
    finished_run(1, 800.0)
    rows, table = write_results(tmp_path / "sweep")
    assert [r["data_mean"] for r in rows] == [800.0, 800.0]
    assert [r["data_fingerprint"] for r in rows] == ["build800", "build800"]
    assert table.splitlines()[-1] == "| dataset mean | 80.0 |"
    finished_run(2, None)  # a run from before the record existed: today's dataset.json is all there is
    rows, table = write_results(tmp_path / "sweep")
    assert [r["data_mean"] for r in rows] == [800.0, 800.0, 850.0]
    assert table.splitlines()[-1] == "| dataset mean | 80.0 / 85.0 |"
    with open(tmp_path / "sweep" / "results.csv") as f:
        assert [row["data_mean"] for row in csv.DictReader(f)] == ["800.0", "800.0", "850.0"]


def test_tables_give_the_iqm_with_a_bootstrap_interval_from_five_seeds(tmp_path):
    """IQM of 5 seeds = mean of the middle 3 (rliable's trimmed mean drops 25 % each side); the interval
    brackets it; fewer than 5 finished seeds give no IQM line."""
    from lompo.bench.results import iqm_interval, write_results

    data = tmp_path / "data"
    data.mkdir()
    (data / "dataset.json").write_text(json.dumps({"statistics": {"mean": 100.0}}))
    scores = [10.0, 20.0, 30.0, 40.0, 500.0]
    for seed, score in enumerate(scores):
        run = tmp_path / "sweep" / "cartpole_swingup-random-64px" / "lompo" / f"seed{seed}"
        run.mkdir(parents=True)
        (run / "config.json").write_text(json.dumps({"run": {"algo": "lompo", "data": str(data), "seed": seed}}))
        (run / "final.json").write_text(
            json.dumps(
                {
                    "return_mean": score * 10,
                    "return_std": 0.0,
                    "score_vd4rl": score,
                    "episodes": 10,
                    "steps": {"agent": 1},
                    "wall_time": 1.0,
                    "world_model_reward_r2": 0.1 * seed,
                }
            )
        )
        rows, table = write_results(tmp_path / "sweep")
        assert ("IQM" in table) == (seed == 4)
    assert [r["model_reward_r2"] for r in rows] == pytest.approx([0.0, 0.1, 0.2, 0.3, 0.4])
    assert "did not learn the frames" in table and "seed 1 (0.10)" in table and "seed 2" not in table
    iqm, low, high = iqm_interval(scores)
    assert iqm == pytest.approx(30.0)  # robust to the 500 outlier, unlike the mean (120)
    assert low <= iqm <= high and low >= 10.0 and high <= 500.0
    assert iqm_interval(scores) == (iqm, low, high)  # seeded bootstrap: the same interval every time
    assert "30.0 [" in table


def test_robot_tables_give_success_rate_and_normalized_return_next_to_lompo_table1(tmp_path):
    """Runs that report a success flag get a success-rate table and a normalized-return table (the LOMPO
    paper's unit, with the dataset's own normalized mean); the report puts them next to LOMPO Table 1.
    A sweep without success flags gets neither."""
    from lompo.bench.report import write_report
    from lompo.bench.results import write_results

    def sweep(root, task, outcomes):
        data = tmp_path / f"data-{task}"
        data.mkdir(exist_ok=True)
        (data / "dataset.json").write_text(
            json.dumps({"task": task, "recipe": "medium_expert", "statistics": {"mean": 50.0}})
        )
        for (algo, seed), (ret, success) in outcomes.items():
            run = root / "door_open-medium_expert-64px" / algo / f"seed{seed}"
            run.mkdir(parents=True)
            (run / "config.json").write_text(json.dumps({"run": {"algo": algo, "data": str(data), "seed": seed}}))
            final = {"return_mean": ret, "return_std": 0.0, "score_vd4rl": ret / 10, "episodes": 10,
                     "steps": {"train": 10}, "wall_time": 1.0, "score_d4rl": 100 * ret / 200,
                     "reference_random": 0.0, "reference_expert": 200.0}  # fmt: skip
            if success is not None:
                final["success_rate"] = success
            (run / "final.json").write_text(json.dumps(final))

    robots = tmp_path / "robots"
    sweep(robots, "door-open", {("lompo", 0): (0.0, 0.0), ("lompo", 1): (100.0, 0.5), ("bc", 0): (180.0, 1.0)})
    rows, table = write_results(robots)
    success = {(r["algo"], r["seed"]): r["success_rate"] for r in rows}
    assert success == {("lompo", 0): 0.0, ("lompo", 1): 0.5, ("bc", 0): 1.0}
    rates, normalized = table[: table.index("Final normalized return")], table[table.index("Final normalized return") :]
    assert (
        "Final success rate (%)" in rates
        and "| lompo | 25.0 ± 25.0 (2/2) |" in rates
        and "| bc | 100.0 (1/1) |" in rates
    )
    assert "| lompo | 25.0 ± 25.0 (2/2) |" in normalized and "| bc | 90.0 (1/1) |" in normalized
    assert "| dataset mean | 25.0 |" in normalized  # 100 (50 - 0) / (200 - 0)
    page = write_report(robots, videos=False).read_text()
    lompo_section = page[page.index("Compared with LOMPO Table 1") :]
    assert "<td>lompo</td><td>95.7</td><td>25.0 ± 25.0</td><td>25.0 ± 25.0</td>" in lompo_section
    assert "<td>bc</td><td>72.2</td><td>90.0</td><td>100.0</td>" in lompo_section
    assert "<td>cql</td><td>0.0</td><td>not run</td>" in lompo_section
    assert "success 50 %" in page

    dmc = tmp_path / "dmc"
    sweep(dmc, "cartpole-swingup", {("lompo", 0): (120.0, None)})
    _, table = write_results(dmc)
    assert "success rate" not in table and "normalized return" not in table
    assert "LOMPO Table 1" not in write_report(dmc, videos=False).read_text()


def test_subsamples_of_one_dataset_get_their_own_names_in_a_sweep(tmp_path, tiny_dataset):
    """A subsampled dataset keeps its source's task and recipe; its folder's name tells it apart, so
    a sweep over the x5 and x25 subsamples of one dataset plans both (the source keeps its own name)."""
    from lompo.bench.sweep import dataset_label
    from lompo.data.derive import subsample_dataset

    folders = []
    for name, fraction in (("random-x2", 0.5), ("random-x4", 0.25)):
        folders.append(subsample_dataset(tiny_dataset, tmp_path / name / "32px", fraction=fraction))
    labels = [dataset_label(str(f)) for f in folders]
    source = dataset_label(str(tiny_dataset))
    assert labels[0] != labels[1] and source not in labels
    assert labels[0].endswith("-random-x2-32px") and labels[1].endswith("-random-x4-32px")
    spec = SweepSpec(algos=["bc"], datasets=[str(tiny_dataset), *map(str, folders)], seeds=[0])
    assert len({job.path.parent.parent for job in plan(spec, tmp_path / "sweep")}) == 3


def test_variant_evaluations_are_averaged_by_split_as_vd4rl_table3():
    from lompo.bench.results import COLUMNS, results_table, variant_setting, variant_split_grid
    from lompo.envs.variants import SETTINGS
    from lompo.runtime.evaluate import Condition

    for task in ("cheetah-run", "walker-walk"):
        for letter in SETTINGS:
            assert variant_setting(Condition(task=f"{task}@{letter}").label) == letter
    assert variant_setting("colour-medium-test-x4") is None and variant_setting("none") is None

    def row(seed, scores):  # scores by setting letter
        labels = {Condition(task=f"cheetah-run@{k}").label: v for k, v in scores.items()}
        return {"algo": "bc", "dataset": "multi", "seed": seed, "evaluations": {"none": 99.0, **labels}}

    rows = [
        row(0, dict(A=1, B=10, C=20, D=30, E=10, F=30, G=40, H=5)),  # train 25, interpolation 20, extrapolation 3
        row(1, dict(A=4, B=20, C=20, D=40, E=40, F=20, G=20, H=8)),  # train 20, interpolation 40, extrapolation 6
    ]
    header, body = variant_split_grid(rows)
    assert header[2:5] == ["train (B, C, F, G)", "interpolation (D, E)", "extrapolation (A, H)"]
    assert body == [["bc", "multi", "22.5 ± 2.5", "30.0 ± 10.0", "4.5 ± 1.5", "140.0 ± 60.0", "21.0 ± 9.0", "2"]]
    full = [{**dict.fromkeys(COLUMNS), **r, "status": "finished", "score": 1.0} for r in rows]
    assert "V-D4RL Table 3" in results_table(full)
    assert variant_split_grid([{**rows[0], "evaluations": {"none": 1.0}}]) is None
