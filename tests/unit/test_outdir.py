"""atomic_write: the target appears whole or not at all, with the requested mode."""

import stat

import pytest

from fieldops.outdir import atomic_write


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_writes_text_and_chunks_verbatim_with_mode(tmp_path):
    csv = tmp_path / "a.csv"
    assert atomic_write(csv, "a,b\r\nç,2\n") == csv
    assert csv.read_bytes() == "a,b\r\nç,2\n".encode()  # line endings kept, UTF-8
    assert _mode(csv) == 0o644

    secret = tmp_path / "passwd"
    atomic_write(secret, (f"{i}\n" for i in range(200_000)), mode=0o600)
    assert secret.read_text().splitlines() == [str(i) for i in range(200_000)]
    assert _mode(secret) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "passwd"]


def test_failure_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    target = tmp_path / "out.json"
    target.write_text("old\n")

    def chunks():
        yield "x" * (2 << 20)  # past the buffer: something reaches the temp file first
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        atomic_write(target, chunks())
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]
