"""Step lineage: what made a step (``blame``) and where a record was trained (``find``).

Both read the stream's log (and, for record ids, the batch objects) through the Java
``io.lakestream.lineage.Lineage`` and return plain dicts with the same keys as
``./lakestream blame --json`` / ``./lakestream find --json``.
"""
from __future__ import annotations

import json

from . import _jvm
from ._errors import LakestreamError, java_errors
from .reader import _open_store


class StepReclaimedError(LakestreamError, LookupError):
    """The step's batch and log entries were reclaimed by GC; ``reclaimed_below`` is the first step still available."""

    def __init__(self, message, step=None, reclaimed_below=None, floor=None):
        super().__init__(message)
        self.step = step
        self.reclaimed_below = reclaimed_below
        self.floor = floor


def _call(uri: str, what: str, fn):
    store = _open_store(uri, False)
    try:
        try:
            result = fn(store)
        except Exception as e:  # noqa: BLE001 - JPype raises Java exceptions as Python ones
            if _java_class(e) == "io.lakestream.lineage.StepReclaimedException":
                raise StepReclaimedError(str(e.getMessage()), step=int(e.step()), reclaimed_below=int(e.reclaimedBelow()),
                                         floor=int(e.floor())) from None
            with java_errors("%s on stream '%s'" % (what, uri)):
                raise
        return json.loads(str(_jvm.jclass("io.lakestream.format.Json").writeString(result)))
    finally:
        store.close()


def _java_class(e) -> str:
    try:
        return str(e.getClass().getName())
    except Exception:  # noqa: BLE001 - not a Java exception
        return ""


def blame(uri: str, step: int, rank: int = None) -> dict:
    """Lineage of ``step`` (one ``rank`` of the stream's world size, or every rank).

    Keys: ``producer``, ``epoch``, ``seq``, ``cursor_before`` (None = the source's start; only
    meaningful when ``cursor_before_known``), ``cursor_after``, ``object``, ``object_size``,
    ``codec``, ``samples`` and ``ranks``: per rank ``rank``, ``offset``, ``length``, ``crc32c``,
    ``samples``, ``first_sample``, ``record_ids`` and, for packing sources, ``last_record_ids``.
    Raises :class:`StepReclaimedError` for a step GC already reclaimed.
    """
    Lineage = _jvm.jclass("io.lakestream.lineage.Lineage")
    return _call(uri, "cannot blame step %d" % int(step),
                 lambda store: Lineage.blame(store, int(step), -1 if rank is None else int(rank)))


def find(uri: str, record_id: int) -> dict:
    """Where record ``record_id`` was (or, in committed steps, will be) trained.

    Keys: ``status`` (``"found"``, ``"not_yet_produced"`` or ``"not_found"``), ``hits`` (each
    ``step``, ``rank``, ``sample``, ``global_sample``, ``producer``, ``epoch``, ``seq``,
    ``object``), ``pending`` (producers that have not passed the record), ``searched_from``,
    ``searched_to``, ``objects_read`` and ``message``.

    Only the batch objects that can hold the id are read: a :class:`Producer` (and
    :func:`produce`) records each batch's range of ``record_id`` values in the manifest, so a
    lookup reads the one or two objects whose range holds it (batches written before that, by
    older versions, are read whole).
    """
    Lineage = _jvm.jclass("io.lakestream.lineage.Lineage")
    return _call(uri, "cannot find record %d" % int(record_id), lambda store: Lineage.find(store, int(record_id)))
