"""Bad-input corpus: write every broken dataset of
``lompo.testing.BAD_INPUTS`` and feed each to the real command line, as a user would.

    python benchmarks/bad_input_corpus.py --out runs/corpus [--table docs/reliability-corpus.md]

For every case it runs, in fresh processes, ``lompo info FOLDER``, ``lompo info FOLDER
--skip-bad`` and ``lompo train --algo bc --preset tiny --data FOLDER``, and checks: exit code 2
with the file and the problem named, no Python traceback, ``--skip-bad`` keeping the good
episodes, and every file's SHA-256 unchanged afterwards, and reports the largest peak RSS of the three processes.
Prints a Markdown table (one row per case) and exits 1 if any case misbehaved.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

from lompo.testing import file_digests, write_corpus

# `lompo` in a fresh process that reports its own peak resident memory on exit (last stderr line)
_MEASURED = (
    "import atexit, resource, sys; "
    "peak = lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss; "
    "atexit.register(lambda: sys.stderr.write(f'\\nPEAK_RSS_KIB {peak()}\\n')); "
    "from lompo.cli import main; sys.exit(main(sys.argv[1:]))"
)


def lompo(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", _MEASURED, *args], capture_output=True, text=True)


def peak_rss_mib(*processes: subprocess.CompletedProcess) -> float:
    """The largest peak RSS the processes reported (MiB)."""
    peaks = [
        int(line.split()[1]) for p in processes for line in p.stderr.splitlines() if line.startswith("PEAK_RSS_KIB")
    ]
    return max(peaks, default=0) / 1024


def first_error_line(stderr: str, needle: str) -> str:
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    return next((line for line in lines if needle in line), lines[-1] if lines else "")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True, help="folder for the corpus (replaced)")
    parser.add_argument("--table", help="also write the Markdown table here")
    args = parser.parse_args()
    root = Path(args.out)
    if root.exists():
        shutil.rmtree(root)
    rows, failures = [], []
    for case, folder in write_corpus(root / "corpus"):
        before = file_digests(folder)
        info = lompo("info", str(folder))
        skipped = lompo("info", str(folder), "--skip-bad")
        flags = ["--algo", "bc", "--preset", "tiny", "--no-progress"]
        train = lompo("train", "--data", str(folder), "--out", str(root / "runs" / case.name), *flags)
        outputs = info.stderr + skipped.stderr + train.stderr
        checks = {
            "info exits 2": info.returncode == 2,
            "names file and problem": case.file in info.stderr and case.problem in info.stderr,
            "no traceback": "Traceback" not in outputs,
            "train exits 2": train.returncode == 2 and case.problem in train.stderr,
            "skip-bad keeps the rest": (skipped.returncode == 0 and case.file in skipped.stdout)
            if case.good_episodes and case.skippable
            else skipped.returncode == 2,
            "files unchanged": file_digests(folder) == before,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            failures.append((case.name, bad, outputs[-2000:]))
        message = first_error_line(info.stderr, case.problem).replace(str(folder) + "/", "").replace("|", "\\|")
        kept = (
            f"{case.good_episodes} episodes"
            if case.good_episodes and case.skippable
            else "refused (nothing to load)"
            if not case.good_episodes
            else "refused (dataset.json describes every file)"
        )
        rows.append(
            f"| {case.name} | {case.description} | exit {info.returncode} / train exit {train.returncode}"
            f" | `{message}` | {kept} | {'yes' if checks['files unchanged'] else 'NO'} |"
            f" {peak_rss_mib(info, skipped, train):.0f} | {'ok' if not bad else 'FAILED: ' + ', '.join(bad)} |"
        )
    table = "\n".join(
        [
            "| case | input | `lompo info` / `lompo train` | error (first line naming the problem) | with `--skip-bad` "
            "| files unchanged | peak RSS (MiB) | verdict |",
            "|---|---|---|---|---|---|---|---|",
            *rows,
        ]
    )
    print(table)
    if args.table:
        Path(args.table).write_text(table + "\n")
    for name, bad, output in failures:
        print(f"\n{name}: {', '.join(bad)}\n{output}", file=sys.stderr)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
