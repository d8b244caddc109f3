"""VDA 5050 2.x messages, pure: topics, headers, canonical bytes, actions, instant actions,
connection, factsheet, state and visualization. No clock, no network: timestamps and header
IDs are passed in.

Units follow the standard: metres and radians in messages. Topics are
``{interface}/v2/{manufacturer}/{serialNumber}/{topic}``.

Versions: 2.0.0 and 2.1.0. They differ where fieldops touches them in two places:

- the instant-action list is ``instantActions`` in 2.0.0 and ``actions`` in 2.1.0;
- an action parameter's ``value`` may be an object only in 2.1.0. For 2.0.0 an object value
  is **flattened** into one parameter per leaf with a dotted key (``a`` = ``{"device": "gpu-01",
  "port": "p0"}`` becomes ``a.device`` = ``gpu-01`` and ``a.port`` = ``p0``), and a list that
  holds objects travels as its canonical JSON text (:func:`parameters_for_version`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

VERSIONS = ("2.0.0", "2.1.0")
DEFAULT_VERSION = "2.1.0"
INTERFACE = "uagv"
MAJOR = "v2"

TOPICS = ("order", "instantActions", "state", "visualization", "connection", "factsheet")
# QoS and retain flag per topic, as VDA 5050 2.x section 6 prescribes: connection is QoS 1 and
# retained (with a last will); the factsheet is retained; orders and instant actions never are.
TOPIC_QOS = {
    "order": 0,
    "instantActions": 0,
    "state": 0,
    "visualization": 0,
    "connection": 1,
    "factsheet": 0,
}
TOPIC_RETAIN = {
    "order": False,
    "instantActions": False,
    "state": False,
    "visualization": False,
    "connection": True,
    "factsheet": True,
}

ACTION_STATUSES = ("WAITING", "INITIALIZING", "RUNNING", "PAUSED", "FINISHED", "FAILED")
FINAL_ACTION_STATUSES = frozenset({"FINISHED", "FAILED"})
CONNECTION_STATES = ("ONLINE", "OFFLINE", "CONNECTIONBROKEN")
BLOCKING_TYPES = ("NONE", "SOFT", "HARD")
ERROR_LEVELS = ("WARNING", "FATAL")

MAX_MESSAGE_BYTES = 4 * 1024 * 1024
MAX_ARRAY = 100_000
MAX_STRING = 4_096

# Standard VDA 5050 2.x action types fieldops uses (and the instant ones it sends).
STANDARD_ACTIONS = {
    "pick": "pick up a load (standard)",
    "drop": "drop a load (standard); fieldops: deliver a rack to its position",
    "finePositioning": "fine-position at a station (standard); fieldops: at a rack face",
    "waitForTrigger": "wait for a trigger (standard); fieldops: a technician's confirmation",
    "cancelOrder": "instant: cancel the current order (standard)",
    "startPause": "instant: pause (standard)",
    "stopPause": "instant: resume (standard)",
    "stateRequest": "instant: publish a state now (standard)",
    "factsheetRequest": "instant: publish the factsheet now (standard)",
}

# Custom action types: name -> (description, scopes, parameter keys).
CUSTOM_ACTIONS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "installRails": (
        "install rack rails for a device at a rack face and U",
        ("NODE",),
        ("stepId", "stepKind", "rack", "face", "u", "device"),
    ),
    "installDevice": (
        "lift and mount a device at a rack face, lowest U given",
        ("NODE",),
        ("stepId", "stepKind", "rack", "face", "u", "device", "deviceType", "assetTag", "weightKg"),
    ),
    "connectCableEnd": (
        "plug one end of a cable or power cord",
        ("NODE",),
        ("stepId", "stepKind", "rack", "face", "u", "cableId", "end", "device", "port"),
    ),
    "verifyLabel": (
        "read the QR labels in reach and compare with expectCodes",
        ("NODE",),
        ("stepId", "stepKind", "rack", "face", "expectCodes"),
    ),
    "confirmTrigger": (
        "instant: a technician confirmed; finish the waitForTrigger action waitActionId",
        ("INSTANT",),
        ("waitActionId", "confirmedBy"),
    ),
}
INSTANT_ACTIONS = (
    "cancelOrder",
    "startPause",
    "stopPause",
    "stateRequest",
    "factsheetRequest",
    "confirmTrigger",
)


class VdaError(ValueError):
    """A payload cannot be built (undeclared action, bad index) or a message is invalid."""


def check_version(version: str) -> str:
    if version not in VERSIONS:
        raise VdaError(
            f"VDA 5050 version '{str(version)[:20]}' is not supported (use one of {', '.join(VERSIONS)})"
        )
    return version


# ---------------------------------------------------------------- topics and headers


def topic(manufacturer: str, serial_number: str, name: str, *, interface: str = INTERFACE) -> str:
    """The MQTT topic of one robot.

    >>> topic("FieldBotics", "LIFT-001", "order")
    'uagv/v2/FieldBotics/LIFT-001/order'
    """
    if name not in TOPICS:
        raise VdaError(f"unknown VDA 5050 topic '{name}'")
    for part in (manufacturer, serial_number):
        if not part or any(c in part for c in "/+#\x00"):
            raise VdaError(f"'{part}' cannot be used in an MQTT topic level")
    return f"{interface}/{MAJOR}/{manufacturer}/{serial_number}/{name}"


def split_topic(mqtt_topic: str, *, interface: str = INTERFACE) -> tuple[str, str, str] | None:
    """``uagv/v2/M/S/state`` -> (M, S, 'state'); None for any other topic."""
    parts = mqtt_topic.split("/")
    if len(parts) != 5 or parts[0] != interface or parts[1] != MAJOR or parts[4] not in TOPICS:
        return None
    return parts[2], parts[3], parts[4]


_SECOND: tuple[int, str] = (-1, "")  # the last whole second formatted (strftime is the cost)


def iso_timestamp(epoch_s: float) -> str:
    """ISO 8601 UTC with milliseconds, as VDA 5050 headers want it.

    >>> iso_timestamp(0)
    '1970-01-01T00:00:00.000Z'
    """
    global _SECOND
    ms = int(round(epoch_s * 1000))
    sec = ms // 1000
    last = _SECOND  # one tuple, replaced whole: safe to share between threads
    if last[0] != sec:
        last = _SECOND = (sec, datetime.fromtimestamp(sec, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S"))
    return f"{last[1]}.{ms % 1000:03d}Z"


@dataclass(frozen=True, slots=True)
class Header:
    header_id: int
    timestamp: str  # ISO 8601 UTC, from iso_timestamp()
    manufacturer: str
    serial_number: str
    version: str = DEFAULT_VERSION

    def fields(self) -> dict:
        check_version(self.version)
        return {
            "headerId": self.header_id,
            "timestamp": self.timestamp,
            "version": self.version,
            "manufacturer": self.manufacturer,
            "serialNumber": self.serial_number,
        }


class HeaderIds:
    """headerId counters, one per topic (the standard counts each topic separately)."""

    def __init__(self) -> None:
        self._next: dict[str, int] = {}

    def next(self, name: str) -> int:
        n = self._next.get(name, 0)
        self._next[name] = n + 1
        return n


def encode(message: Mapping) -> bytes:
    """Canonical JSON bytes: sorted keys, compact, UTF-8 (deterministic payloads)."""
    return json.dumps(
        message, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


_STAMPED = ("headerId", "timestamp")
_HEADS: dict[str, bytes] = {}  # '"key":' for each top-level key met


def _head(key: str) -> bytes:
    hit = _HEADS.get(key)
    if hit is None:
        hit = json.dumps(key, ensure_ascii=False).encode() + b":"
        if len(_HEADS) < 1000:
            _HEADS[key] = hit
    return hit


class Prepared:
    """A message encoded ahead of time except its ``headerId`` and ``timestamp``, which
    :meth:`stamp` fills in when it is sent: the same bytes as :func:`encode` of the whole
    message, for the cost of a join (orders are built off the publishing path).

    >>> p = Prepared({"orderId": "o1", "headerId": 0, "timestamp": "", "version": "2.1.0"})
    >>> p.stamp(7, "1970-01-01T00:00:00.000Z")
    b'{"headerId":7,"orderId":"o1","timestamp":"1970-01-01T00:00:00.000Z","version":"2.1.0"}'
    """

    __slots__ = ("_pieces", "_slots", "message")

    def __init__(self, message: Mapping) -> None:
        self._build(message, {})

    def _build(self, message: Mapping, encoded: Mapping[str, bytes]) -> None:
        self.message = message
        # '"key":value' for every field; where the header is filled in, '"key":' and the
        # index of that piece
        self._pieces: list[bytes] = []
        self._slots: list[tuple[int, str]] = []
        for key in sorted({*message, *encoded}):
            head = _head(key)
            if key in _STAMPED:
                self._slots.append((len(self._pieces), key))
                self._pieces.append(head)
            elif key in encoded:
                self._pieces.append(head + encoded[key])
            else:
                self._pieces.append(head + encode_value(message[key]))

    def stamp(self, header_id: int, timestamp: str) -> bytes:
        fill = {"headerId": str(int(header_id)).encode(), "timestamp": f'"{timestamp}"'.encode()}
        pieces = self._pieces.copy()
        for i, key in self._slots:
            pieces[i] = pieces[i] + fill[key]
        return b"{" + b",".join(pieces) + b"}"

    @classmethod
    def of_parts(cls, message: Mapping, encoded: Mapping[str, bytes]) -> Prepared:
        """Like ``Prepared(message)``, with the fields in ``encoded`` given as their JSON
        bytes already (an order's nodes and edges, encoded once per stop and reused)."""
        self = cls.__new__(cls)
        self._build(message, encoded)
        return self


def encode_value(value) -> bytes:
    """One value as canonical JSON (strings and whole numbers without json.dumps' setup)."""
    if type(value) is str:
        return _encode_string(value).encode()
    if type(value) is int:
        return str(value).encode()
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode()


_encode_string = json.encoder.encode_basestring  # what json.dumps(ensure_ascii=False) uses


# ---------------------------------------------------------------- actions


def _param_list(params: Mapping) -> list[dict]:
    return [{"key": k, "value": params[k]} for k in sorted(params) if params[k] is not None]


def action(
    action_type: str,
    action_id: str,
    params: Mapping | None = None,
    *,
    blocking: str = "HARD",
    description: str = "",
) -> dict:
    """One VDA 5050 action object."""
    if blocking not in BLOCKING_TYPES:
        raise VdaError(f"blockingType '{blocking}' is not one of {', '.join(BLOCKING_TYPES)}")
    out = {
        "actionId": action_id,
        "actionType": action_type,
        "blockingType": blocking,
        "actionParameters": _param_list(params or {}),
    }
    if description:
        out["actionDescription"] = description
    return out


def _flatten(key: str, value, out: list[dict]) -> None:
    if isinstance(value, Mapping):
        for k in sorted(value):
            if value[k] is not None:
                _flatten(f"{key}.{k}", value[k], out)
    elif isinstance(value, list) and any(isinstance(v, (Mapping, list)) for v in value):
        out.append({"key": key, "value": encode_value(value).decode()})
    else:
        out.append({"key": key, "value": value})


def parameters_for_version(params: Sequence[Mapping], version: str) -> list[dict]:
    """``actionParameters`` as ``version`` allows them: unchanged for 2.1.0; for 2.0.0, whose
    values are array, boolean, number or string only, object values flattened into dotted
    keys and lists holding objects or lists sent as JSON text.

    >>> parameters_for_version([{"key": "a", "value": {"device": "gpu-01", "port": "p0"}}], "2.0.0")
    [{'key': 'a.device', 'value': 'gpu-01'}, {'key': 'a.port', 'value': 'p0'}]
    """
    if version != "2.0.0":
        return [dict(p) for p in params]
    out: list[dict] = []
    for p in params:
        _flatten(p["key"], p["value"], out)
    return sorted(out, key=lambda p: p["key"])


def actions_for_version(actions: Iterable[Mapping], version: str) -> list[dict]:
    """Action objects as ``version`` allows them (see :func:`parameters_for_version`)."""
    if version != "2.0.0":
        return [dict(a) for a in actions]
    out = []
    for a in actions:
        params = a.get("actionParameters") or ()
        if any(isinstance(p.get("value"), (Mapping, list)) for p in params):
            a = {**a, "actionParameters": parameters_for_version(params, version)}
        out.append(dict(a))
    return out


def build_instant_actions(header: Header, actions: Sequence[dict]) -> dict:
    """An ``instantActions`` message. The 2.0.0 JSON schema names the list ``instantActions``,
    2.1.0 names it ``actions``; the header's version picks."""
    key = "instantActions" if header.version == "2.0.0" else "actions"
    return {**header.fields(), key: actions_for_version(actions, header.version)}


def cancel_order(action_id: str) -> dict:
    return action("cancelOrder", action_id, blocking="NONE")


def pause(action_id: str) -> dict:
    return action("startPause", action_id, blocking="HARD")


def resume(action_id: str) -> dict:
    return action("stopPause", action_id, blocking="HARD")


def state_request(action_id: str) -> dict:
    return action("stateRequest", action_id, blocking="NONE")


def factsheet_request(action_id: str) -> dict:
    return action("factsheetRequest", action_id, blocking="NONE")


def confirm_trigger(action_id: str, wait_action_id: str, confirmed_by: str) -> dict:
    """Custom instant action: a technician confirmed the step held by ``waitForTrigger``."""
    return action(
        "confirmTrigger",
        action_id,
        {"waitActionId": wait_action_id, "confirmedBy": confirmed_by},
        blocking="NONE",
    )


# ---------------------------------------------------------------- robot-side messages (simulators)


def metres(mm: float) -> float:
    return round(mm / 1000.0, 3)


def build_connection(header: Header, state: str) -> dict:
    if state not in CONNECTION_STATES:
        raise VdaError(f"connectionState '{state}' is not one of {', '.join(CONNECTION_STATES)}")
    return {**header.fields(), "connectionState": state}


def build_factsheet(
    header: Header,
    *,
    action_types: Iterable[str],
    series: str,
    speed_max_m_s: float,
    payload_kg: float,
    width_mm: int,
) -> dict:
    """A factsheet declaring exactly ``action_types`` (plus the standard instant actions)."""
    agv_actions = []
    for t in sorted(set(action_types) | set(INSTANT_ACTIONS)):
        if t in CUSTOM_ACTIONS:
            desc, scopes, keys = CUSTOM_ACTIONS[t]
            params = [
                {
                    "key": k,
                    "valueDataType": "OBJECT" if k == "expectCodes" else "STRING",
                    "isOptional": k not in ("stepId",),
                }
                for k in keys
            ]
        else:
            desc, params = STANDARD_ACTIONS.get(t, t), []
            scopes = ("INSTANT",) if t in INSTANT_ACTIONS else ("NODE",)
        agv_actions.append(
            {
                "actionType": t,
                "actionDescription": desc,
                "actionScopes": list(scopes),
                "actionParameters": params,
            }
        )
    return {
        **header.fields(),
        "typeSpecification": {
            "seriesName": series,
            "agvKinematic": "OMNI",
            "agvClass": "CARRIER",
            "maxLoadMass": payload_kg,
            "localizationTypes": ["NATURAL"],
            "navigationTypes": ["AUTONOMOUS"],
        },
        "physicalParameters": {
            "speedMin": 0.0,
            "speedMax": speed_max_m_s,
            "accelerationMax": 0.5,
            "decelerationMax": 0.5,
            "heightMax": 2.0,
            "width": metres(width_mm),
            "length": metres(width_mm),
        },
        "protocolLimits": {
            "maxStringLens": {},
            "maxArrayLens": {},
            "timing": {"minOrderInterval": 0.0, "minStateInterval": 0.0},
        },
        "protocolFeatures": {"optionalParameters": [], "agvActions": agv_actions},
        "agvGeometry": {},
        "loadSpecification": {},
    }


def _position(position: tuple[float, float, float, str]) -> dict:
    x, y, theta, map_id = position
    return {
        "x": round(x, 3),
        "y": round(y, 3),
        "theta": round(theta, 6),
        "mapId": map_id,
        "positionInitialized": True,
    }


def build_state(
    header: Header,
    *,
    order_id: str,
    order_update_id: int,
    last_node_id: str,
    last_node_sequence_id: int,
    driving: bool,
    position: tuple[float, float, float, str] | None,
    node_states: Sequence[tuple[str, int, bool]] = (),
    edge_states: Sequence[tuple[str, int, bool]] = (),
    action_states: Sequence[tuple[str, str, str, str]] = (),
    errors: Sequence[dict] = (),
    paused: bool = False,
    battery: float = 100.0,
) -> dict:
    """A ``state`` message. ``position`` is (x m, y m, theta rad, mapId); ``action_states`` are
    (actionId, actionType, actionStatus, resultDescription)."""
    out = {
        **header.fields(),
        "orderId": order_id,
        "orderUpdateId": order_update_id,
        "lastNodeId": last_node_id,
        "lastNodeSequenceId": last_node_sequence_id,
        "driving": driving,
        "paused": paused,
        "operatingMode": "AUTOMATIC",
        "nodeStates": [{"nodeId": n, "sequenceId": s, "released": r} for n, s, r in node_states],
        "edgeStates": [{"edgeId": e, "sequenceId": s, "released": r} for e, s, r in edge_states],
        "actionStates": [
            {"actionId": i, "actionType": t, "actionStatus": st, "resultDescription": d}
            for i, t, st, d in action_states
        ],
        "batteryState": {"batteryCharge": battery, "charging": False},
        "errors": [dict(e) for e in errors],
        "information": [],
        "loads": [],
        "safetyState": {"eStop": "NONE", "fieldViolation": False},
    }
    if position is not None:
        out["agvPosition"] = _position(position)
    return out


def build_visualization(
    header: Header,
    *,
    position: tuple[float, float, float, str],
    velocity: tuple[float, float, float] = (0.0, 0.0, 0.0),
) -> dict:
    """A ``visualization`` message: where the robot is (x m, y m, theta rad, mapId) and its
    velocity (vx m/s, vy m/s, omega rad/s), for maps and fleet views (QoS 0, not retained)."""
    vx, vy, omega = velocity
    return {
        **header.fields(),
        "agvPosition": _position(position),
        "velocity": {"vx": round(vx, 3), "vy": round(vy, 3), "omega": round(omega, 6)},
    }


def is_number(value) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and (not isinstance(value, float) or math.isfinite(value))
    )
