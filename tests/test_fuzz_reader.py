"""Random bytes and random arrays fed to the episode reader give only lompo's own errors."""

import io
import tempfile
import zipfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lompo.data.episodes import read_episode
from lompo.errors import EpisodeFileError

_settings = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _read(data: bytes):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ep.npz"
        path.write_bytes(data)
        try:
            read_episode(path)
        except EpisodeFileError as err:
            assert str(path) in str(err)


@_settings
@given(st.binary(max_size=2048))
def test_random_bytes(data):
    _read(data)


@_settings
@given(st.binary(min_size=1, max_size=256), st.integers(0, 400))
def test_corrupted_valid_archive(noise, offset):
    buffer = io.BytesIO()
    n = 4
    np.savez(
        buffer,
        image=np.zeros((n, 4, 4, 3), np.uint8),
        action=np.zeros((n, 1), np.float32),
        reward=np.zeros(n, np.float32),
    )
    data = bytearray(buffer.getvalue())
    offset = offset % len(data)
    data[offset : offset + len(noise)] = noise
    _read(bytes(data))


_dtypes = st.sampled_from([np.uint8, np.float32, np.float64, np.int64, np.bool_, np.complex64])
_shapes = st.lists(st.integers(0, 5), min_size=0, max_size=5).map(tuple)


@_settings
@given(
    st.dictionaries(
        st.sampled_from(["image", "action", "reward", "discount", "is_first", "extra"]),
        st.tuples(_shapes, _dtypes),
        max_size=6,
    )
)
def test_random_arrays(spec):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for key, (shape, dtype) in spec.items():
            array_bytes = io.BytesIO()
            np.save(array_bytes, np.ones(shape, dtype))
            archive.writestr(f"{key}.npy", array_bytes.getvalue())
    _read(buffer.getvalue())
