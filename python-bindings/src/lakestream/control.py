"""The control channel: a trainer commits settings (e.g. a data mixture) that producers apply.

``set_control`` commits a control record to the stream's log, atomically like a checkpoint
record; mixture producers (``./lakestream produce --source NAME=SPEC …``) apply its
``mixture`` from the next step on, exactly once across the change. ``control`` reads the one in
force.
"""
from __future__ import annotations

from . import _jvm
from ._errors import java_errors
from .reader import _open_store


def _state(record, committed_steps, committed=None):
    out = {"control": 0, "from_step": 0, "settings": {}, "committed_steps": int(committed_steps)}
    if committed is not None:
        out["committed"] = bool(committed)
    if record is not None:
        out.update(control=int(record.version()), from_step=int(record.fromStep()),
                   settings={str(k): str(v) for k, v in record.settings().items()})
    return out


def control(uri: str) -> dict:
    """The control state in force: ``control`` (version, 0 = none), ``from_step``, ``settings``, ``committed_steps``."""
    ManifestLog = _jvm.jclass("io.lakestream.log.ManifestLog")
    store = _open_store(uri, False)
    try:
        with java_errors("cannot read the control state of stream '%s'" % uri):
            s = ManifestLog.open(store, True).state()
            return _state(s.control(), s.committedSteps())
    finally:
        store.close()


def set_control(uri: str, settings: dict = None, unset=(), id: str = None, **kw) -> dict:
    """Commits the next control version: the current settings updated with ``settings`` (and
    keyword arguments, e.g. ``mixture="web:0.7,code:0.3"``) and without the keys in ``unset``.
    Returns :func:`control`'s dict plus ``committed`` (False when nothing changed).
    """
    values = dict(settings or {})
    values.update(kw)
    Controls = _jvm.jclass("io.lakestream.control.Controls")
    ManifestLog = _jvm.jclass("io.lakestream.log.ManifestLog")
    HashMap = _jvm.jclass("java.util.HashMap")
    ArrayList = _jvm.jclass("java.util.ArrayList")
    m = HashMap()
    for k, v in values.items():
        m.put(str(k), str(v))
    u = ArrayList()
    for k in unset:
        u.add(str(k))
    store = _open_store(uri, False)
    try:
        with java_errors("cannot set control %r on stream '%s'" % (values, uri)):
            log = ManifestLog.open(store)
            r = Controls.set(log, m, u, id)
            s = log.state()
            return _state(s.control(), s.committedSteps(), committed=r.committed())
    finally:
        store.close()
