"""Scalars land in TensorBoard's event-file format (TFRecord framing, CRC-checked,
`Event` protobufs as tensorboardX's compiled schema defines them)."""

import struct

import numpy as np
from tensorboardX.crc32c import crc32c
from tensorboardX.proto.event_pb2 import Event

from morl.io.tensorboard import ScalarWriter


def _masked(data: bytes) -> int:
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def read_events(path):
    """Every record of a TFRecord file, checking both CRCs (the TFRecord spec)."""
    data = path.read_bytes()
    events, offset = [], 0
    while offset < len(data):
        header = data[offset : offset + 8]
        (length,) = struct.unpack("<Q", header)
        (header_crc,) = struct.unpack("<I", data[offset + 8 : offset + 12])
        assert header_crc == _masked(header)
        body = data[offset + 12 : offset + 12 + length]
        (body_crc,) = struct.unpack("<I", data[offset + 12 + length : offset + 16 + length])
        assert body_crc == _masked(body)
        events.append(Event.FromString(body))
        offset += 16 + length
    return events


def scalars(logdir):
    out = {}
    for path in sorted(logdir.glob("events.out.tfevents.*")):
        for event in read_events(path):
            for value in event.summary.value:
                out.setdefault(value.tag, []).append((event.step, value.simple_value))
    return out


def test_scalars_are_readable(tmp_path):
    writer = ScalarWriter(tmp_path)
    for step in (100, 200, 300):
        writer.scalars(step, {"front/hypervolume": step / 10, "train/loss": 1.0 / step, "front/igd": float("nan")})
    writer.close()
    got = scalars(tmp_path)
    assert [s for s, _ in got["front/hypervolume"]] == [100, 200, 300]
    np.testing.assert_allclose([v for _, v in got["front/hypervolume"]], [10, 20, 30])
    np.testing.assert_allclose([v for _, v in got["train/loss"]], [0.01, 0.005, 1 / 300], rtol=1e-6)
    assert "front/igd" not in got  # non-finite values are skipped


def test_resume_writes_purge_marker(tmp_path):
    ScalarWriter(tmp_path).close()
    writer = ScalarWriter(tmp_path, purge_step=201)
    writer.scalars(300, {"a": 1.0})
    writer.close()
    files = sorted(tmp_path.glob("events.out.tfevents.*"))
    assert len(files) == 2
    events = [e for f in files for e in read_events(f)]
    # TensorBoard drops earlier events at or after a SessionLog.START's step
    starts = [e for e in events if e.HasField("session_log") and e.session_log.status == e.session_log.START]
    assert [e.step for e in starts] == [201]
