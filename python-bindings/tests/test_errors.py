"""Java exceptions become Python errors by class (never by message text), one line each, with the
Java exception kept on them."""
import jpype
import pytest

import lakestream
from lakestream._errors import java_errors


def _raise(java_class, *args):
    raise jpype.JClass(java_class)(*args)


@pytest.mark.parametrize("java_class,args,py,fields", [
    ("io.lakestream.store.StoreException", ("GET failed", "file:///s", "data/x", None, False),
     lakestream.StoreError, {"key": "data/x", "retryable": False}),
    ("io.lakestream.store.NoSuchKeyException", ("no such key", "data/y"), lakestream.StoreError, {"key": "data/y"}),
    ("io.lakestream.log.CommitStateUnknownException", ("lost", "file:///s", "_log/v1", None),
     lakestream.CommitUnknownError, {"key": "_log/v1"}),
    ("io.lakestream.log.CommitTimeoutException", ("file:///s", "p0", 120000, 7, "_log/v9"),
     lakestream.CommitTimeoutError, {"conflicts": 7}),
    ("io.lakestream.log.BelowFloorException", ("file:///s", 3, 5), lakestream.BelowFloorError, {"step": 3, "floor": 5}),
])
def test_a_java_exception_maps_by_class_with_its_fields(jvm, java_class, args, py, fields):
    with pytest.raises(py) as info:
        with java_errors("ctx"):
            _raise(java_class, *args)
    e = info.value
    assert str(e).startswith("ctx: ") and "\n" not in str(e), str(e)
    assert e.java_exception is not None
    for k, v in fields.items():
        assert getattr(e, k) == v, (k, getattr(e, k))


def test_every_java_lakestream_exception_is_a_lakestream_error(jvm):
    # the fallback for a LakestreamException without a Python class of its own
    with pytest.raises(lakestream.LakestreamError, match="two live instances"):
        with java_errors():
            _raise("io.lakestream.producer.SharedEpochException", "file:///s", "p", 1, "data/p/k")


def test_a_commit_timeout_is_a_timeout_and_a_store_error_an_oserror(jvm):
    assert issubclass(lakestream.CommitTimeoutError, TimeoutError)
    assert issubclass(lakestream.StoreError, OSError)
    assert not issubclass(lakestream.CommitUnknownError, TimeoutError), "an unknown outcome must not look retryable"
