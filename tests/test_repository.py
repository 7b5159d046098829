"""The repository speaks of the product only: no development history or paths outside it in its text."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = re.compile(r"DESIGN\.md|\.\./shared|\bsessions? \d|\bsession-\d|\bissues? \d|\bissue-\d", re.IGNORECASE)
TEXT = {".py", ".md", ".sh", ".toml", ".txt", ".json", ".yaml", ".yml", ".cfg"}


def tracked_text_files() -> list[Path]:
    listed = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    return [ROOT / name for name in listed.splitlines() if Path(name).suffix in TEXT]


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
