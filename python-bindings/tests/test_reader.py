"""The readers of one stream in one process share one Java ``Lakestream`` handle (one log
follower), which the last of them closes; a reader leaving does not disturb the others."""
import pytest

import lakestream
from conftest import write_stream


def test_readers_of_one_stream_share_one_handle_closed_by_the_last(jvm, uri, tmp_path):
    write_stream(uri, 2, 3)
    a = lakestream.Reader(uri, 0, 2)
    b = lakestream.Reader(uri, 1, 2)
    stream = a._stream
    assert b._stream is stream, "two ranks of one process, one handle"
    other_uri = "file://" + str(tmp_path / "other")
    write_stream(other_uri, 2, 1)
    with lakestream.Reader(other_uri, 0, 2) as c:
        assert c._stream is not stream, "one handle per stream"
    assert a.next(20).step == 0
    a.close()  # the first reader leaves; the handle (and its store) stays for b
    for step in range(3):
        assert b.next(20).step == step
    write_stream(uri, 2, 2, producer="q")  # committed after a left: b's follower still follows
    assert [b.next(20).step for _ in range(2)] == [3, 4]
    b.close()
    RO = lakestream._jvm.jclass("io.lakestream.reader.ReaderOptions")
    with pytest.raises(Exception, match="closed"):
        stream.reader(0, 2, 0, RO.defaults())  # the last reader closed the handle
    with lakestream.Reader(uri, 0, 2, start_step=4) as d:
        assert d._stream is not stream, "a later reader opens the stream afresh"
        assert d.next(20).step == 4
