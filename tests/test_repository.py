"""The repository speaks of the product only: no development history or paths outside it in its text."""

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# design notes kept outside the repository, development sessions, issue numbers, absolute temp paths
FORBIDDEN = re.compile(
    r"(?-i:DESIGN\.md)|\.\./shared|\bsessions? \d|\bsession-\d|\bissues? \d|\bissue-\d"
    r"|(?<![\w.])/tmp\b",
    re.IGNORECASE,
)
TEXT = {".py", ".md", ".sh", ".toml", ".txt", ".json", ".jsonl", ".csv", ".yaml", ".yml", ".cfg", ".lock"}
TEXT_NAMES = {"run"}  # .ci/run


def tracked_text_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [ROOT / name for name in listed.splitlines() if Path(name).suffix in TEXT or Path(name).name in TEXT_NAMES]


def test_no_file_mentions_sessions_issue_numbers_or_outside_paths():
    files = tracked_text_files()
    assert len(files) > 50  # the listing worked
    hits = []
    for path in files:
        if path == Path(__file__).resolve():
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            if FORBIDDEN.search(line):
                hits.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:100]}")
    assert not hits, "\n".join(hits)


def test_every_benchmark_script_runs_with_help_from_the_repository_root():
    """Benchmarks are runnable from the root (no working-directory assumptions, no missing imports)."""
    scripts = sorted((ROOT / "benchmarks").glob("*.py")) + sorted((ROOT / "benchmarks").glob("*.sh"))
    scripts = [s for s in scripts if s.name != "common.py"]
    assert len(scripts) >= 10
    failed = []
    for script in scripts:
        command = ["bash", str(script), "--help"] if script.suffix == ".sh" else [sys.executable, str(script), "--help"]
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
        if done.returncode != 0 or "usage" not in (done.stdout + done.stderr).lower() and script.suffix == ".py":
            failed.append(f"{script.name}: exit {done.returncode}: {(done.stderr or done.stdout).strip()[-300:]}")
    assert not failed, "\n".join(failed)
