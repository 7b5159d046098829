"""Freed memory is kept for reuse: a training step's large tensors do not fault their pages in again."""

import subprocess
import sys

import pytest

PROBE = """
import resource, sys, torch
from lompo.runtime import memory
# glibc's default threshold adapts to the program (and MALLOC_* variables change it), so both modes start from a fixed
# small one under which every large tensor is a fresh mmap: the probe then cannot depend on the machine's defaults.
assert memory._libc().mallopt(memory.M_MMAP_THRESHOLD, 128 << 10) == 1
if sys.argv[1] == "keep":
    assert memory.keep_freed_memory()
def step():  # allocate and free a world-model batch of frames (16 x 32 x 3 x 64 x 64 floats, 25 MB) a few times
    x = torch.ones(16, 32, 3, 64, 64)
    return float((x * 2 + 1).sum())
torch.set_num_threads(1)
for _ in range(20):  # the heap settles
    step()
faults = []
for _ in range(3):  # the fewest over three windows: one late growth of the heap does not decide the result
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(10):
        step()
    faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
print(min(faults))
"""


def _page_faults(mode: str) -> int:
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[-1])


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc (Linux) only")
def test_kept_memory_is_reused_without_page_faults():
    """Served by mmap, every 25 MB tensor comes from fresh pages (6,144 page faults each); kept, once the heap has
    settled, ten steps of them fault almost nothing in (in the quietest of three windows of ten steps)."""
    mapped, kept = _page_faults("mmap"), _page_faults("keep")
    assert mapped > 6000, mapped  # the probe sees the faults it is meant to remove
    assert kept < 1000, kept


def test_training_keeps_freed_memory(tmp_path, tiny_dataset, monkeypatch):
    from lompo.runtime import Run, memory

    monkeypatch.setattr(memory, "_kept", False)
    Run.new(tmp_path / "run", "bc", tiny_dataset, preset="tiny", seed=0).train(log=lambda *a: None)
    assert memory._kept is sys.platform.startswith("linux")


TRIM_PROBE = """
import sys, torch
from lompo.runtime.memory import keep_freed_memory, trim_freed_memory
def anon_mib():
    return int(open("/proc/self/status").read().split("RssAnon:")[1].split()[0]) / 1024
assert keep_freed_memory()
held = [torch.ones(16, 32, 3, 64, 64) for _ in range(16)]  # 16 x 25 MB, then freed: kept in the heap
del held
kept = anon_mib()
trim_freed_memory()
print(kept, anon_mib())
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc (Linux) only")
def test_trimming_hands_kept_memory_back():
    """Between phases the trainer trims: the kept heap goes back to the kernel."""
    out = subprocess.run([sys.executable, "-c", TRIM_PROBE], capture_output=True, text=True, check=True)
    kept, trimmed = map(float, out.stdout.split())
    assert kept - trimmed > 300, (kept, trimmed)
