"""The as-built record of a hall: which device is in which U, which cable is plugged where.

Pure (no I/O). Every confirmation, label scan, robot result and fix-up step is an *event*;
:func:`apply` folds one event into a new :class:`AsBuilt` value (the old one is unchanged), and
:func:`apply_all` folds many at once, all or nothing.

Ports are written ``device:port`` (``str(Termination)``). A cable is known by its reference:
its label (the stable cable ID, ``C-XXXXXXX``) when someone scanned or placed it, or
``?a~b`` (:func:`unknown_ref`) for a link seen only as an LLDP neighbour pair. A cable may have
0, 1 or 2 ends plugged (a half-plugged cable is a loose end in the middle of a fix-up).

Machine actions of fix-up and revision steps (``Step.action``) are ``{"type": "fixup", "ops":
[...]}`` with ops from ``OPS``; :func:`ops_events` turns them into events, so applying a step to
the as-built record is exactly what the technician or robot did.

>>> ab = AsBuilt("TINY")
>>> ab = apply(ab, CableConnected("C-AAAAAAA", "srv1:eth0", "sw1:swp1"))
>>> ab.links()
[('srv1:eth0', 'sw1:swp1', 'C-AAAAAAA')]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

from fieldops.core.labels import assign_cable_ids, parse_qr_payload
from fieldops.core.model import FACES, FRONT, Design, frozen_map

SCHEMA = "fieldops.asbuilt/1.0"
UNKNOWN_PREFIX = "?"

OPS = ("connect", "remove_cable", "plug", "unplug", "mount", "unmount", "label")


class AsBuiltError(ValueError):
    """An event that contradicts the record (plugging into an occupied port, a cable with a third
    end, an unknown cable or device)."""


def split_port(port: str) -> tuple[str, str]:
    """``'leaf-03:swp5'`` -> ``('leaf-03', 'swp5')`` (device names may not contain ':')."""
    device, _, name = port.partition(":")
    return device, name


def unknown_ref(a: str, b: str) -> str:
    """The reference of an unlabelled cable seen between two ports."""
    x, y = (a, b) if a <= b else (b, a)
    return f"{UNKNOWN_PREFIX}{x}~{y}"


def sorted_ends(ends) -> tuple[str, ...]:
    """A cable's plugged ports in order (0, 1 or 2 of them; fast for the common pair)."""
    if len(ends) == 2:
        a, b = ends
        return (a, b) if a <= b else (b, a)
    return tuple(sorted(ends))


def is_unknown(ref: str) -> bool:
    return ref.startswith(UNKNOWN_PREFIX)


# ---------------------------------------------------------------- the record


@dataclass(frozen=True, slots=True)
class MountedDevice:
    """A device as found in its rack: serial and asset tag as captured at stack time."""

    name: str
    rack: str
    position: int | None
    face: str = FRONT
    serial: str = ""
    asset_tag: str = ""


@dataclass(frozen=True)
class AsBuilt:
    """What is in the hall. ``cables`` maps a cable reference to its plugged ports (sorted)."""

    hall: str = ""
    devices: Mapping[str, MountedDevice] = field(default_factory=frozen_map)
    cables: Mapping[str, tuple[str, ...]] = field(default_factory=frozen_map)

    def port_map(self) -> dict[str, str]:
        """Plugged port -> cable reference."""
        return {p: ref for ref, ends in self.cables.items() for p in ends}

    def links(self) -> list[tuple[str, str, str]]:
        """Complete links ``(a, b, ref)`` with ``a < b``, sorted."""
        return sorted((e[0], e[1], ref) for ref, e in self.cables.items() if len(e) == 2)

    def loose_ends(self) -> list[tuple[str, str]]:
        """``(ref, port)`` of cables plugged at one end only."""
        return sorted((ref, e[0]) for ref, e in self.cables.items() if len(e) == 1)

    def link_set(self) -> set[tuple[str, str]]:
        return {(a, b) for a, b, _ in self.links()}


def from_design(design: Design, cable_ids: Mapping[tuple[str, str], str] | None = None) -> AsBuilt:
    """The as-built record of a hall built exactly as designed (zero-U devices included)."""
    ids = cable_ids if cable_ids is not None else assign_cable_ids(design.cables)[0]
    devices = {
        d.name: MountedDevice(d.name, d.rack, d.position, d.face, d.serial, d.asset_tag)
        for d in design.devices
    }
    cables = {ids[c.key]: c.key for c in design.cables}
    return AsBuilt(design.floorplan.name, frozen_map(devices), frozen_map(cables))


# ---------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class DeviceMounted:
    """A stack confirmation (or robot FINISHED): the device is in this rack, U and face."""

    device: str
    rack: str
    position: int | None
    face: str = FRONT
    serial: str = ""
    asset_tag: str = ""


@dataclass(frozen=True, slots=True)
class DeviceUnmounted:
    device: str


@dataclass(frozen=True, slots=True)
class CableConnected:
    """A cable step confirmed: both ends plugged (both labels scanned)."""

    cable: str
    a: str
    b: str


@dataclass(frozen=True, slots=True)
class CableRemoved:
    """Both ends unplugged and the cable taken out."""

    cable: str


@dataclass(frozen=True, slots=True)
class CablePlugged:
    """One end of a cable plugged into a port."""

    cable: str
    port: str


@dataclass(frozen=True, slots=True)
class CableUnplugged:
    cable: str
    port: str


@dataclass(frozen=True, slots=True)
class LabelScanned:
    """A technician scanned cable label ``code`` at ``port``: that cable is plugged there.

    An unlabelled link recorded at the port takes the code as its name; a different cable
    recorded at the port is unplugged from it (the scan is the evidence).
    """

    code: str
    port: str


@dataclass(frozen=True, slots=True)
class StepDone:
    """A fix-up or revision step confirmed: its machine action's ops happened."""

    step_id: str
    action: Mapping = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True, slots=True)
class RobotResult:
    """A robot's action state for a step; only ``FINISHED`` changes the record."""

    step_id: str
    state: str  # WAITING | INITIALIZING | RUNNING | PAUSED | FINISHED | FAILED (VDA 5050)
    action: Mapping = field(default_factory=dict, hash=False, compare=False)


Event = (
    DeviceMounted
    | DeviceUnmounted
    | CableConnected
    | CableRemoved
    | CablePlugged
    | CableUnplugged
    | LabelScanned
    | StepDone
    | RobotResult
)


def ops_events(action: Mapping) -> list:
    """The events a step's machine action stands for. Raises AsBuiltError on a malformed op."""
    if not isinstance(action, Mapping):
        raise AsBuiltError("a step action must be a mapping")
    ops = action.get("ops", [])
    if not isinstance(ops, list):
        raise AsBuiltError("action 'ops' must be a list")
    out = []
    for i, op in enumerate(ops):
        if not isinstance(op, Mapping) or op.get("op") not in OPS:
            raise AsBuiltError(f"ops[{i}]: expected an op from {', '.join(OPS)}")
        try:
            kind = op["op"]
            if kind == "connect":
                out.append(CableConnected(op["cable"], op["a"], op["b"]))
            elif kind == "remove_cable":
                out.append(CableRemoved(op["cable"]))
            elif kind == "plug":
                out.append(CablePlugged(op["cable"], op["port"]))
            elif kind == "unplug":
                out.append(CableUnplugged(op["cable"], op["port"]))
            elif kind == "mount":
                out.append(
                    DeviceMounted(
                        op["device"], op["rack"], op.get("position"), op.get("face", FRONT)
                    )
                )
            elif kind == "unmount":
                out.append(DeviceUnmounted(op["device"]))
            else:  # label
                out.append(LabelScanned(op["code"], op["port"]))
        except KeyError as exc:
            raise AsBuiltError(f"ops[{i}] ({op.get('op')}): missing field {exc}") from None
    return out


class _Work:
    """A mutable copy used while folding events; turned back into an AsBuilt at the end."""

    def __init__(self, ab: AsBuilt):
        self.hall = ab.hall
        self.devices = dict(ab.devices)
        self.cables = {k: list(v) for k, v in ab.cables.items()}
        self.ports = {p: ref for ref, ends in ab.cables.items() for p in ends}
        self.parked: dict[
            str, MountedDevice
        ] = {}  # unmounted in this fold (a move keeps its serial)

    def freeze(self) -> AsBuilt:
        cables = {k: sorted_ends(v) for k, v in sorted(self.cables.items())}
        return AsBuilt(
            self.hall, frozen_map(dict(sorted(self.devices.items()))), frozen_map(cables)
        )

    # -- cables
    def plug(self, ref: str, port: str) -> None:
        _check_port(port)
        holder = self.ports.get(port)
        if holder == ref:
            return
        if holder is not None:
            raise AsBuiltError(f"cannot plug {ref} into {port}: {_name(holder)} is plugged there")
        ends = self.cables.setdefault(ref, [])
        if len(ends) >= 2:
            raise AsBuiltError(
                f"cannot plug {ref} into {port}: both its ends are already plugged ({ends[0]}, {ends[1]})"
            )
        ends.append(port)
        self.ports[port] = ref

    def unplug(self, ref: str, port: str) -> None:
        if self.ports.get(port) != ref:
            holder = self.ports.get(port)
            what = f"{_name(holder)} is plugged there" if holder else "nothing is plugged there"
            raise AsBuiltError(f"cannot unplug {ref} from {port}: {what}")
        del self.ports[port]
        self.cables[ref].remove(port)

    def remove(self, ref: str) -> None:
        if ref not in self.cables:
            raise AsBuiltError(f"cannot remove {ref}: no such cable in the record")
        for p in self.cables.pop(ref):
            del self.ports[p]

    def rename(self, old: str, new: str) -> None:
        ends = self.cables.pop(old)
        self.cables[new] = ends
        for p in ends:
            self.ports[p] = new

    def apply(self, ev) -> None:
        if isinstance(ev, CableConnected):
            if ev.a == ev.b:
                raise AsBuiltError(f"{ev.cable}: both ends at {ev.a}")
            for p in (ev.a, ev.b):
                self.plug(ev.cable, p)
        elif isinstance(ev, CableRemoved):
            self.remove(ev.cable)
        elif isinstance(ev, CablePlugged):
            self.plug(ev.cable, ev.port)
        elif isinstance(ev, CableUnplugged):
            self.unplug(ev.cable, ev.port)
        elif isinstance(ev, LabelScanned):
            self.scan(ev.code, ev.port)
        elif isinstance(ev, DeviceMounted):
            if ev.face not in FACES:
                raise AsBuiltError(f"{ev.device}: face '{ev.face}' is not front or rear")
            old = self.devices.get(ev.device) or self.parked.get(ev.device)
            self.devices[ev.device] = MountedDevice(
                ev.device,
                ev.rack,
                ev.position,
                ev.face,
                ev.serial or (old.serial if old else ""),
                ev.asset_tag or (old.asset_tag if old else ""),
            )
        elif isinstance(ev, DeviceUnmounted):
            if ev.device not in self.devices:
                raise AsBuiltError(f"cannot unmount {ev.device}: it is not in the record")
            self.parked[ev.device] = self.devices.pop(ev.device)
        elif isinstance(ev, StepDone):
            for sub in _ordered(ops_events(ev.action)):
                self.apply(sub)
        elif isinstance(ev, RobotResult):
            if ev.state == "FINISHED":
                for sub in _ordered(ops_events(ev.action)):
                    self.apply(sub)
        else:
            raise AsBuiltError(f"not an as-built event: {type(ev).__name__}")

    def scan(self, code: str, port: str) -> None:
        _check_port(port)
        holder = self.ports.get(port)
        if holder == code:
            return
        if holder is not None and is_unknown(holder) and code not in self.cables:
            self.rename(holder, code)
            return
        if holder is not None:
            self.unplug(holder, port)
            if not self.cables[holder]:
                del self.cables[holder]
        self.plug(code, port)


def _ordered(events: list) -> list:
    """Within one step, take things out before putting things in (a swap is one step)."""
    out = [e for e in events if isinstance(e, (CableUnplugged, CableRemoved, DeviceUnmounted))]
    return out + [
        e for e in events if not isinstance(e, (CableUnplugged, CableRemoved, DeviceUnmounted))
    ]


def _check_port(port: str) -> None:
    device, name = split_port(port)
    if not device or not name:
        raise AsBuiltError(f"'{port}' is not a device:port")


def _name(ref: str) -> str:
    if is_unknown(ref):
        a, _, b = ref[1:].partition("~")
        return f"an unlabelled cable ({a} - {b})"
    return ref


def apply(asbuilt: AsBuilt, event) -> AsBuilt:
    """The record after one event. Raises :class:`AsBuiltError` (and changes nothing) on conflict."""
    return apply_all(asbuilt, (event,))


def apply_all(asbuilt: AsBuilt, events: Iterable) -> AsBuilt:
    """The record after every event in order, or AsBuiltError with nothing applied."""
    work = _Work(asbuilt)
    for i, ev in enumerate(events):
        try:
            work.apply(ev)
        except AsBuiltError as exc:
            raise AsBuiltError(f"event {i + 1} ({type(ev).__name__}): {exc}") from None
    return work.freeze()


def with_cables(asbuilt: AsBuilt, cables: Mapping[str, tuple[str, ...]]) -> AsBuilt:
    return replace(
        asbuilt, cables=frozen_map({k: sorted_ends(v) for k, v in sorted(cables.items())})
    )


# ---------------------------------------------------------------- JSON (dicts only; files are the adapters' job)


def to_dict(ab: AsBuilt) -> dict:
    return {
        "schema": SCHEMA,
        "hall": ab.hall,
        "devices": [
            {
                "name": d.name,
                "rack": d.rack,
                "position": d.position,
                "face": d.face,
                "serial": d.serial,
                "asset_tag": d.asset_tag,
            }
            for d in sorted(ab.devices.values(), key=lambda d: d.name)
        ],
        "cables": [{"id": ref, "ends": list(ends)} for ref, ends in sorted(ab.cables.items())],
    }


_EVENT_TYPES = {
    "device_mounted": DeviceMounted,
    "device_unmounted": DeviceUnmounted,
    "cable_connected": CableConnected,
    "cable_removed": CableRemoved,
    "cable_plugged": CablePlugged,
    "cable_unplugged": CableUnplugged,
    "label_scanned": LabelScanned,
    "step_done": StepDone,
    "robot_result": RobotResult,
}


def event_from_dict(d: Mapping):
    """``{"event": "cable_connected", "cable": ..., "a": ..., "b": ...}`` -> an event value."""
    if not isinstance(d, Mapping) or d.get("event") not in _EVENT_TYPES:
        raise AsBuiltError(f"expected an object with 'event' one of: {', '.join(_EVENT_TYPES)}")
    cls = _EVENT_TYPES[d["event"]]
    fields = {k: v for k, v in d.items() if k != "event"}
    try:
        return cls(**fields)
    except TypeError as exc:
        raise AsBuiltError(f"{d['event']}: {exc}") from None


def from_dict(d: Mapping) -> AsBuilt:
    """A snapshot (``to_dict`` shape) or an event log ``{"hall": ..., "events": [...]}``."""
    if not isinstance(d, Mapping):
        raise AsBuiltError("expected a JSON object")
    hall = d.get("hall", "")
    if not isinstance(hall, str):
        raise AsBuiltError("'hall' must be a string")
    base = AsBuilt(hall)
    events = []
    for i, dev in enumerate(d.get("devices", []) or []):
        if not isinstance(dev, Mapping):
            raise AsBuiltError(f"devices[{i}]: expected an object")
        pos = dev.get("position")
        if pos is not None and (isinstance(pos, bool) or not isinstance(pos, int)):
            raise AsBuiltError(f"devices[{i}].position: expected a whole U number or null")
        try:
            events.append(
                DeviceMounted(
                    str(dev["name"]),
                    str(dev["rack"]),
                    pos,
                    str(dev.get("face", FRONT)),
                    str(dev.get("serial", "")),
                    str(dev.get("asset_tag", "")),
                )
            )
        except KeyError as exc:
            raise AsBuiltError(f"devices[{i}]: missing field {exc}") from None
    for i, c in enumerate(d.get("cables", []) or []):
        if (
            not isinstance(c, Mapping)
            or not isinstance(c.get("id"), str)
            or not isinstance(c.get("ends"), list)
        ):
            raise AsBuiltError(f"cables[{i}]: expected {{'id': str, 'ends': [port, ...]}}")
        if len(c["ends"]) > 2:
            raise AsBuiltError(f"cables[{i}]: a cable has at most two ends")
        events.extend(CablePlugged(c["id"], str(p)) for p in c["ends"])
    for i, e in enumerate(d.get("events", []) or []):
        try:
            events.append(event_from_dict(e))
        except AsBuiltError as exc:
            raise AsBuiltError(f"events[{i}]: {exc}") from None
    return apply_all(base, events)


# ---------------------------------------------------------------- confirmations -> events

HOWS = ("scan", "manual", "robot")
ROBOT_STATES = ("WAITING", "INITIALIZING", "RUNNING", "PAUSED", "FINISHED", "FAILED")
MAX_CONFIRMATIONS = 1_000_000


@dataclass(frozen=True, slots=True)
class Evidence:
    """How a step was confirmed, as the store records it (``Confirmation.how`` and its codes).

    ``codes``: scanned or typed codes (``C-XXXXXXXXXX/A`` cable labels, bare cable IDs, asset
    tags); ``robot_state``: the VDA 5050 status of the step's actions when ``how`` is
    ``robot`` (only ``FINISHED`` says the work happened); ``serial`` and ``asset_tag``:
    captured at stack time.
    """

    how: str = "manual"
    codes: tuple[str, ...] = ()
    robot_state: str = "FINISHED"
    serial: str = ""
    asset_tag: str = ""


def _cable_code(code: str) -> tuple[str, str | None] | None:
    try:
        return parse_qr_payload(code)
    except ValueError:
        return None


def _port(end) -> str | None:
    if isinstance(end, Mapping) and end.get("device") and end.get("port"):
        return f"{end['device']}:{end['port']}"
    return None


def events_for_confirmation(step, evidence: Evidence = Evidence()) -> list:
    """The as-built events a confirmed step stands for (``step``: a workorder ``Step``).

    - ``mount_device``: :class:`DeviceMounted` in the step's rack, U (``None`` for zero-U)
      and face, with the serial and asset tag captured (a scanned code that is not a cable
      label is the asset tag; else the planned one);
    - ``run_cable``, ``connect_hose`` and ``connect_power``: :class:`CableConnected` between
      the two ports.
      Scanned labels say which cable went in: a label of another cable (``C-OTHER/A``)
      puts that cable's end there instead, so the drift shows the mix-up;
    - fix-up and revision steps (an action with ``ops``): :class:`StepDone`;
    - anything else (racks, rails, burn-in, verification): nothing the record holds.

    A robot result other than ``FINISHED`` stands for nothing.

    Examples
    --------
    >>> from fieldops.core.workorder import Location, Step
    >>> s = Step("power:C-1", "power", "connect_power", "t", "i", Location(rack="A01"),
    ...          action={"cable": "C-08R9X3C5BC", "device": "srv-01", "port": "PSU1", "pdu": "pdu-a", "outlet": "Outlet3"})
    >>> events_for_confirmation(s, Evidence("robot"))
    [CableConnected(cable='C-08R9X3C5BC', a='srv-01:PSU1', b='pdu-a:Outlet3')]
    """
    if evidence.how not in HOWS:
        raise AsBuiltError(
            f"step {step.id}: 'how' is '{evidence.how}', not one of {', '.join(HOWS)}"
        )
    if evidence.how == "robot" and evidence.robot_state != "FINISHED":
        return []
    act = step.action if isinstance(step.action, Mapping) else {}
    if isinstance(act.get("ops"), list):
        return [StepDone(step.id, act)]
    if step.kind == "mount_device":
        device = act.get("device") or next((p.ref for p in step.parts if p.kind == "device"), "")
        rack = act.get("rack") or step.location.rack
        if not device or not rack:
            raise AsBuiltError(f"step {step.id}: a mount step without device or rack")
        position = act.get("u", step.location.u)
        face = act.get("face") or step.location.face or FRONT
        scanned = [c for c in evidence.codes if _cable_code(c) is None]
        tag = (
            evidence.asset_tag or (scanned[0] if scanned else "") or str(act.get("asset_tag") or "")
        )
        return [DeviceMounted(device, rack, position, face, evidence.serial, tag)]
    if step.kind in ("run_cable", "connect_hose"):  # a hose is recorded like a cable
        cable, a, b = act.get("cable"), _port(act.get("a")), _port(act.get("b"))
    elif step.kind == "connect_power":
        cable = act.get("cable")
        a = _port({"device": act.get("device"), "port": act.get("port")})
        b = _port({"device": act.get("pdu"), "port": act.get("outlet")})
    else:
        return []
    if not cable or not a or not b:
        raise AsBuiltError(f"step {step.id}: a cable step without its cable ID or both ports")
    at = {"A": "", "B": ""}  # which cable the scanned labels put at each end
    bare = ""
    for code in evidence.codes:
        parsed = _cable_code(code)
        if parsed is None:
            continue
        ref, end = parsed
        if end in at:
            at[end] = at[end] or ref
        else:
            bare = bare or ref
    ref_a = at["A"] or bare or cable
    ref_b = at["B"] or bare or cable
    if ref_a == ref_b:
        return [CableConnected(ref_a, a, b)]
    return [CablePlugged(ref_a, a), CablePlugged(ref_b, b)]


def evidence_from_dict(d: Mapping, where: str = "") -> tuple[str, Evidence]:
    """``(step_id, Evidence)`` from one exported confirmation: the store's
    ``{"step_id", "how", "codes", "evidence": {...}, ...}`` or a plain ``{step_id, how, codes}``.

    A robot confirmation's ``evidence.actions`` (actionId -> VDA 5050 status) gives its
    state: FINISHED when all are, else FAILED if any failed, else the first other status.
    """
    w = f"{where}: " if where else ""
    if not isinstance(d, Mapping):
        raise AsBuiltError(f"{w}expected an object with step_id, how and codes")
    step_id = d.get("step_id")
    if not isinstance(step_id, str) or not step_id:
        raise AsBuiltError(f"{w}'step_id' must be a non-empty string")
    how = d.get("how", "manual")
    if how not in HOWS:
        raise AsBuiltError(f"{w}'how' must be one of {', '.join(HOWS)}, not {str(how)[:40]!r}")
    codes = d.get("codes", []) or []
    if not isinstance(codes, list) or not all(isinstance(c, str) for c in codes):
        raise AsBuiltError(f"{w}'codes' must be a list of strings")
    if len(codes) > 100:
        raise AsBuiltError(f"{w}{len(codes)} codes; a confirmation holds at most 100")
    extra = d.get("evidence")
    extra = {} if extra is None else extra
    if not isinstance(extra, Mapping):
        raise AsBuiltError(f"{w}'evidence' must be an object")
    state = "FINISHED"
    actions = extra.get("actions")
    if isinstance(actions, Mapping) and actions:
        states = [str(s) for s in actions.values()]
        if not all(s == "FINISHED" for s in states):
            state = "FAILED" if "FAILED" in states else next(s for s in states if s != "FINISHED")
    elif isinstance(extra.get("state"), str):
        state = extra["state"]
    if how == "robot" and state not in ROBOT_STATES:
        raise AsBuiltError(f"{w}robot state {state[:40]!r} is not a VDA 5050 action status")

    def text(key: str) -> str:
        v = d.get(key, extra.get(key, ""))
        if not isinstance(v, str | int) or isinstance(v, bool):
            raise AsBuiltError(f"{w}'{key}' must be text")
        return str(v).strip()[:200]

    return step_id, Evidence(
        how, tuple(c.strip() for c in codes), state, text("serial"), text("asset_tag")
    )


def confirmations_from_json(doc) -> list[tuple[str, Evidence]]:
    """The confirmations of an export: a list, or ``{"confirmations": [...]}`` (the web app's
    ``GET /api/confirmations``). Raises AsBuiltError naming the first bad entry."""
    items = doc.get("confirmations") if isinstance(doc, Mapping) else doc
    if not isinstance(items, list):
        raise AsBuiltError(
            'expected a list of confirmations or {"confirmations": [...]} (each with step_id, how, codes)'
        )
    if len(items) > MAX_CONFIRMATIONS:
        raise AsBuiltError(f"{len(items):,} confirmations; at most {MAX_CONFIRMATIONS:,} are read")
    return [evidence_from_dict(c, f"confirmations[{i}]") for i, c in enumerate(items)]


def build_from_confirmations(
    base: AsBuilt, steps: Iterable, confirmations: Iterable[tuple[str, Evidence]]
) -> AsBuilt:
    """The record after every confirmation, in order, or AsBuiltError with nothing applied
    (a confirmation of an unknown step, or one that contradicts an earlier one).

    Confirming a step twice (a robot's FINISHED, then the technician's check) is harmless:
    plugging a cable where it already is, or mounting a device where it already is, changes
    nothing.
    """
    by_id = {s.id: s for s in steps}
    work = _Work(base)
    for i, (step_id, evidence) in enumerate(confirmations):
        step = by_id.get(step_id)
        where = f"confirmations[{i}] (step {step_id[:80]})"
        if step is None:
            raise AsBuiltError(f"{where}: the step is not in the plan")
        try:
            for ev in events_for_confirmation(step, evidence):
                work.apply(ev)
        except AsBuiltError as exc:
            raise AsBuiltError(f"{where}: {exc}") from None
    return work.freeze()
