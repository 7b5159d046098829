"""Success-classifier rewards (LOMPO section V-C): a small conv classifier trained on labelled frames
("is the drawer closed?") whose probability becomes the reward of a dataset without one.

``lompo reward train --data DIR --labels LABELS --out CLF`` trains it; labels are a CSV of
``episode,step,label`` rows (``episode``: an episode file's name, ``step``: the frame index in it,
``label``: 0 or 1) or a folder with subfolders ``0/`` and ``1/`` of image files. The classifier is the
world model's conv encoder with a linear head, trained with binary cross-entropy on randomly shifted
frames (DrQ's augmentation: pad 4, random crop) and both classes weighted equally; a held-out split
(``validation_fraction``, stratified) gives its accuracy. ``CLF/`` holds ``weights.safetensors`` and
``classifier.json`` (sizes, label counts, validation accuracy).

``lompo reward apply CLF --data DIR --out DIR2`` writes a new dataset, identical but for ``reward``:
``reward[t]`` (of the transition into frame t, t >= 1) is the classifier's probability for frame t, or
1/0 at ``--threshold``. Its ``dataset.json`` names the classifier, its validation accuracy and the
source dataset. A learned reward is sparse and noisy: expect the penalized latent reward and the
returns to carry the classifier's mistakes (docs/lompo.md).
"""

from __future__ import annotations

import csv
import json
import os
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from lompo.data import read_episode, write_episode
from lompo.data.dataset import episode_files, read_metadata, write_metadata
from lompo.data.importers import IMAGE_SUFFIXES, read_frames
from lompo.errors import ConfigError, DatasetError, LompoError, Problem
from lompo.files import atomic_write_bytes, sha256_of
from lompo.nets import ConvEncoder


@dataclass
class ClassifierConfig:
    image_size: int = 64
    depth: int = 16
    steps: int = 500
    batch_size: int = 32
    lr: float = 3e-4
    validation_fraction: float = 0.2
    seed: int = 0


class SuccessClassifier(nn.Module):
    def __init__(self, image_size: int, depth: int):
        super().__init__()
        self.encoder = ConvEncoder(image_size, depth)
        self.head = nn.Linear(self.encoder.embed_dim, 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 ``(N, H, W, 3)`` -> success logits ``(N,)``."""
        return self.head(self.encoder(images)).squeeze(-1)


def random_shift(images: torch.Tensor, pad: int = 4) -> torch.Tensor:
    """DrQ's augmentation on uint8 ``(N, H, W, 3)``: replicate-pad by ``pad``, crop back at a random offset."""
    n, h, w, _ = images.shape
    padded = nn.functional.pad(images.permute(0, 3, 1, 2).float(), (pad,) * 4, mode="replicate")
    dx, dy = torch.randint(0, 2 * pad + 1, (2, n))
    crops = [padded[i, :, dy[i] : dy[i] + h, dx[i] : dx[i] + w] for i in range(n)]
    return torch.stack(crops).permute(0, 2, 3, 1).round().to(torch.uint8)


# ------------------------------------------------------------------------------------ labels
def read_labels(labels: Path, data: Path | None, size: int) -> tuple[np.ndarray, np.ndarray]:
    """Frames ``(N, size, size, 3)`` uint8 and labels ``(N,)`` from a CSV (with ``data``) or a folder."""
    labels = Path(labels)
    if labels.is_dir():
        frames, targets = [], []
        for label in (0, 1):
            files = sorted(p for p in (labels / str(label)).glob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
            if not files:
                raise DatasetError(labels, [Problem(labels / str(label), "no image files (.png, .jpg)")])
            frames.append(read_frames(files, size))
            targets += [label] * len(files)
        return np.concatenate(frames), np.asarray(targets, np.float32)
    if data is None:
        raise ConfigError("labels given as a CSV need --data, the dataset whose frames they label")
    try:
        rows = list(csv.DictReader(labels.read_text().splitlines()))
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise DatasetError(labels, [Problem(labels, f"unreadable labels: {err}")]) from None
    by_name = {p.name: p for p in episode_files(Path(data))}
    episodes: dict[str, np.ndarray] = {}
    frames, targets, problems = [], [], []
    for line, row in enumerate(rows, start=2):
        try:
            name, step, label = row["episode"], int(row["step"]), int(row["label"])
        except (KeyError, TypeError, ValueError):
            problems.append(Problem(labels, f"line {line}: expected columns episode,step,label with integers"))
            continue
        if name not in by_name:
            problems.append(Problem(labels, f"line {line}: no episode file {name!r} in {data}"))
            continue
        if name not in episodes:
            episodes[name] = read_episode(by_name[name])["image"]
        images = episodes[name]
        if not 0 <= step < len(images) or label not in (0, 1):
            problems.append(Problem(labels, f"line {line}: step {step} of {len(images)} or label {label} (0/1)"))
            continue
        frames.append(images[step])
        targets.append(label)
    if problems:
        raise DatasetError(labels, problems)
    if not frames:
        raise DatasetError(labels, [Problem(labels, "no labelled frames")])
    image = np.stack(frames)
    if image.shape[1] != size:
        raise ConfigError(f"the dataset's frames are {image.shape[1]} px; train the classifier at that size")
    return image, np.asarray(targets, np.float32)


# ------------------------------------------------------------------------------------ training
def train_classifier(frames: np.ndarray, labels: np.ndarray, config: ClassifierConfig, out: Path | str) -> dict:
    """Train on a stratified split, report validation accuracy and class balance; write ``out/``."""
    counts = [int((labels == c).sum()) for c in (0, 1)]
    if min(counts) < 2:
        raise ConfigError(f"need at least 2 frames of each class, got {counts[0]} negative, {counts[1]} positive")
    rng = np.random.default_rng(config.seed)
    validation = np.concatenate(
        [
            rng.permutation(np.flatnonzero(labels == c))[: max(1, round(config.validation_fraction * n))]
            for c, n in zip((0, 1), counts)
        ]
    )
    train = np.setdiff1d(np.arange(len(labels)), validation)
    torch.manual_seed(config.seed)
    model = SuccessClassifier(config.image_size, config.depth)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)
    images, targets = torch.as_tensor(frames), torch.as_tensor(labels)
    weight = torch.tensor([len(labels) / (2 * counts[0]), len(labels) / (2 * counts[1])])  # classes count equally
    for _ in range(config.steps):
        index = torch.as_tensor(rng.choice(train, config.batch_size))
        logits = model(random_shift(images[index]))
        y = targets[index]
        loss = nn.functional.binary_cross_entropy_with_logits(logits, y, weight=weight[y.long()])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        predicted = (model(images[validation]) > 0).float()
    accuracy = float((predicted == targets[validation]).float().mean())
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    save_file(model.state_dict(), str(out / "weights.safetensors"))
    report = {
        "config": asdict(config),
        "labels": {"negative": counts[0], "positive": counts[1]},
        "train_frames": int(len(train)),
        "validation_frames": int(len(validation)),
        "validation_accuracy": round(accuracy, 4),
        "last_train_loss": round(loss.item(), 4),
    }
    atomic_write_bytes(out / "classifier.json", lambda f: f.write(json.dumps(report, indent=2).encode()))
    return report


def load_classifier(path: Path | str) -> tuple[SuccessClassifier, dict]:
    path = Path(path)
    try:
        report = json.loads((path / "classifier.json").read_text())
        config = ClassifierConfig(**report["config"])
        model = SuccessClassifier(config.image_size, config.depth)
        model.load_state_dict(load_file(str(path / "weights.safetensors")))
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as err:
        raise LompoError(f"{path}: not a classifier written by `lompo reward train` ({err})") from None
    return model.eval(), report


# ------------------------------------------------------------------------------------ relabelling
@torch.no_grad()
def apply_classifier(classifier: Path | str, data: Path | str, out: Path | str, threshold: float | None = None) -> Path:
    """Write ``data`` to ``out`` with ``reward[t] = p(success | frame t)`` (module docstring)."""
    model, report = load_classifier(classifier)
    data, out = Path(data), Path(out)
    if out.exists():
        raise LompoError(f"{out} already exists; choose a new --out")
    files = episode_files(data)
    if not files:
        raise DatasetError(data, [Problem(data, "no episode files")])
    tmp = out.parent / f".{out.name}.relabel-{os.getpid()}"
    tmp.mkdir(parents=True)
    try:
        for path in files:
            episode = read_episode(path)
            if episode["image"].shape[1] != report["config"]["image_size"]:
                size = report["config"]["image_size"]
                raise ConfigError(f"{path}: {episode['image'].shape[1]} px frames; the classifier takes {size}")
            probability = torch.sigmoid(model(torch.as_tensor(episode["image"]))).numpy()
            reward = probability if threshold is None else (probability >= threshold).astype(np.float32)
            episode["reward"] = np.concatenate([[0.0], reward[1:]]).astype(np.float32)
            write_episode(tmp, episode, name=path.name)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    metadata = dict(read_metadata(data) or {})
    metadata.pop("statistics", None)
    metadata.update(
        files={p.name: sha256_of(p) for p in sorted(tmp.glob("*.npz"))},
        rewards=f"success classifier ({'probability' if threshold is None else f'probability >= {threshold}'})",
        reward_classifier={
            "path": str(Path(classifier).resolve()),
            "weights_sha256": sha256_of(Path(classifier) / "weights.safetensors"),
            "validation_accuracy": report["validation_accuracy"],
            "labels": report["labels"],
            "source_dataset": str(data.resolve()),
        },
    )
    write_metadata(tmp, metadata)
    tmp.rename(out)
    return out
