"""The library's own error types.

Every error raised for bad user input is a :class:`LompoError`; callers (the CLI,
the sweep runner) catch this one type and print its message, never a traceback
from inside numpy or torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


class LompoError(Exception):
    """Base class of every error lompo raises on purpose."""


class ConfigError(LompoError):
    """An option or argument that cannot be used (unknown task, bad size...)."""


class RenderingError(LompoError):
    """No headless OpenGL backend could be found or started."""


@dataclass(frozen=True)
class Problem:
    """One problem found in one file of a dataset."""

    path: Path
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


class EpisodeFileError(LompoError):
    """One episode file is unreadable or invalid. ``problems`` lists every issue found."""

    def __init__(self, path: Path | str, problems: list[str]):
        self.path = Path(path)
        self.problems = list(problems)
        super().__init__("\n".join(f"{self.path}: {p}" for p in self.problems))


class DatasetError(LompoError):
    """A dataset folder cannot be loaded. ``problems`` holds every problem found, per file."""

    def __init__(self, root: Path | str, problems: list[Problem], hint: str = ""):
        self.root = Path(root)
        self.problems = list(problems)
        lines = [f"dataset {self.root} has {len(self.problems)} problem(s):"]
        lines += [f"  - {p}" for p in self.problems]
        if hint:
            lines.append(hint)
        super().__init__("\n".join(lines))


class CheckpointError(LompoError):
    """A checkpoint or run directory that cannot be used (names the file and the problem)."""

    def __init__(self, path: Path | str, message: str):
        self.path = Path(path)
        super().__init__(f"{self.path}: {message}")


class DivergenceError(LompoError):
    """A loss or gradient became NaN/inf; the run stops and keeps its last good checkpoint."""
