"""Process memory: keep freed memory for reuse instead of handing it back to the kernel.

A training step allocates and frees the same large activations every step (a `cpu`-preset LOMPO
world-model step: 512 frames of 3 x 64 x 64 floats, 25 MB per tensor, dozens of them). glibc's
``malloc`` serves blocks of that size with ``mmap`` and returns them with ``munmap`` (or trims the
heap's top), so every step faults every page of them in again from the kernel, zero-filled: about
60,000 minor page faults per step, about a fifth of the step's CPU time (BENCHMARKS.md, "Freed
memory"). :func:`keep_freed_memory` sets glibc's thresholds so that blocks up to 32 MiB come from the
heap and freed memory stays mapped for the next step. The cost: the process's resident memory stays
at its peak instead of shrinking between steps; :func:`trim_freed_memory` hands the free part back
between training phases, whose allocations differ (a LOMPO run's world-model activations, then its
replay buffers). Elsewhere (macOS, musl) both do nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import sys

# mallopt(3) parameters of glibc's malloc.h.
M_TRIM_THRESHOLD = -1
M_TOP_PAD = -2
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_MAX = 32 << 20  # glibc's largest mmap threshold on 64-bit systems
TRIM_THRESHOLD = 1 << 30  # free memory at the heap's top kept before trimming
TOP_PAD = 64 << 20  # extra memory asked of the kernel whenever the heap grows

_kept = False


@functools.cache
def _libc():
    """glibc, or ``None`` (not Linux, or another C library); loaded once per process."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.mallopt.argtypes, libc.mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
        libc.malloc_trim.argtypes, libc.malloc_trim.restype = [ctypes.c_size_t], ctypes.c_int
    except (OSError, AttributeError):  # not glibc
        return None
    return libc


def keep_freed_memory() -> bool:
    """Make glibc's ``malloc`` keep freed memory for reuse (once per process); ``True`` when it does."""
    global _kept
    if _kept:
        return True
    libc = _libc()
    if libc is None:
        return False
    settings = ((M_MMAP_THRESHOLD, MMAP_THRESHOLD_MAX), (M_TRIM_THRESHOLD, TRIM_THRESHOLD), (M_TOP_PAD, TOP_PAD))
    _kept = all(libc.mallopt(param, value) == 1 for param, value in settings)
    return _kept


def trim_freed_memory() -> None:
    """Hand the free memory of glibc's heap back to the kernel (``malloc_trim``): between phases."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
