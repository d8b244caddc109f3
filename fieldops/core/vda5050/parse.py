"""Parsing what arrives over VDA 5050, pure: bytes -> checked messages. Every check names the
path of the first bad field (``state.actionStates[3].actionStatus: ...``); hostile input
(oversized, not UTF-8, too deep, NaN) is refused with :class:`VdaError`, never a traceback.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from fieldops.core.vda5050.faststate import ActionState, fast_state
from fieldops.core.vda5050.protocol import (
    ACTION_STATUSES,
    BLOCKING_TYPES,
    CONNECTION_STATES,
    ERROR_LEVELS,
    MAX_ARRAY,
    MAX_MESSAGE_BYTES,
    MAX_STRING,
    VdaError,
)


def decode(payload: bytes | str, *, max_bytes: int = MAX_MESSAGE_BYTES) -> dict:
    """Bytes -> a JSON object, refusing oversized, non-UTF-8, non-object or too-deep input."""
    if isinstance(payload, str):
        payload = payload.encode()
    if len(payload) > max_bytes:
        raise VdaError(f"message of {len(payload):,} bytes is over the {max_bytes:,}-byte limit")
    try:
        data = _DECODER.decode(payload.decode("utf-8"))
    except UnicodeDecodeError:
        raise VdaError("message is not UTF-8") from None
    except RecursionError:
        raise VdaError("message JSON is nested too deeply") from None
    except ValueError as exc:
        raise VdaError(f"message is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise VdaError(f"message is a JSON {type(data).__name__}, not an object")
    return data


def _no_constant(name: str):
    raise ValueError(f"{name} is not allowed")


_DECODER = json.JSONDecoder(parse_constant=_no_constant)  # one decoder, not one per message
_STATUSES = frozenset(ACTION_STATUSES)
_FINAL = frozenset({"FINISHED", "FAILED"})


class _Check:
    def __init__(self, data: Mapping, where: str):
        self.data, self.where = data, where

    def fail(self, key: str, msg: str):
        raise VdaError(f"{self.where}.{key}: {msg}")

    def str(
        self,
        key: str,
        *,
        required: bool = True,
        default: str = "",
        choices: Sequence[str] | None = None,
    ) -> str:
        v = self.data.get(key)
        if v is None:
            if required:
                self.fail(key, "missing")
            return default
        if not isinstance(v, str):
            self.fail(key, f"expected a string, got {type(v).__name__}")
        if len(v) > MAX_STRING:
            self.fail(key, f"string of {len(v):,} characters is too long")
        if choices is not None and v not in choices:
            self.fail(key, f"'{v[:40]}' is not one of {', '.join(choices)}")
        return v

    def int(self, key: str, *, required: bool = True, default: int = 0) -> int:
        v = self.data.get(key)
        if v is None:
            if required:
                self.fail(key, "missing")
            return default
        if isinstance(v, bool) or not isinstance(v, int) or not (0 <= v < 2**32):
            self.fail(key, f"expected a whole number 0..2^32-1, got {str(v)[:40]}")
        return v

    def num(self, key: str, *, required: bool = True, default: float = 0.0) -> float:
        v = self.data.get(key)
        if v is None:
            if required:
                self.fail(key, "missing")
            return default
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
            self.fail(key, f"expected a number, got {str(v)[:40]}")
        return float(v)

    def bool(self, key: str, *, required: bool = True, default: bool = False) -> bool:
        v = self.data.get(key)
        if v is None:
            if required:
                self.fail(key, "missing")
            return default
        if not isinstance(v, bool):
            self.fail(key, f"expected true/false, got {str(v)[:40]}")
        return v

    def list(self, key: str, *, required: bool = True) -> list:
        v = self.data.get(key)
        if v is None:
            if required:
                self.fail(key, "missing")
            return []
        if not isinstance(v, list):
            self.fail(key, f"expected a list, got {type(v).__name__}")
        if len(v) > MAX_ARRAY:
            self.fail(key, f"list of {len(v):,} items is too long")
        return v

    def obj(self, key: str, *, required: bool = True) -> Mapping | None:
        v = self.data.get(key)
        if v is None:
            if required:
                self.fail(key, "missing")
            return None
        if not isinstance(v, dict):
            self.fail(key, f"expected an object, got {type(v).__name__}")
        return v

    def item(self, key: str, i: int, value) -> _Check:
        if not isinstance(value, dict):
            raise VdaError(
                f"{self.where}.{key}[{i}]: expected an object, got {type(value).__name__}"
            )
        return _Check(value, f"{self.where}.{key}[{i}]")


@dataclass(frozen=True, slots=True)
class MessageHeader:
    header_id: int
    timestamp: str
    version: str
    manufacturer: str
    serial_number: str


def _header(c: _Check) -> MessageHeader:
    version = c.str("version")
    if not version.startswith("2."):
        c.fail("version", f"'{version[:20]}' is not a VDA 5050 2.x version")
    return MessageHeader(
        c.int("headerId"), c.str("timestamp"), version, c.str("manufacturer"), c.str("serialNumber")
    )


@dataclass(frozen=True, slots=True)
class RobotError:
    """One entry of a state's ``errors``, with the references fieldops acts on: the actions
    it concerns, and for an order the robot refused its ``orderId``/``orderUpdateId``."""

    error_type: str
    level: str
    description: str = ""
    action_ids: tuple[str, ...] = ()
    order_id: str = ""
    order_update_id: int | None = None


@dataclass(frozen=True, slots=True)
class RobotState:
    header: MessageHeader
    order_id: str
    order_update_id: int
    last_node_id: str
    last_node_sequence_id: int
    driving: bool
    paused: bool
    action_states: tuple[ActionState, ...]
    errors: tuple[RobotError, ...]
    node_sequence_ids: tuple[int, ...]  # nodes still to traverse
    position: tuple[float, float, float, str] | None  # x m, y m, theta rad, mapId
    base_left: bool = False  # a released node is still to traverse

    def idle(self) -> bool:
        """Standing still with no released node left and every action FINISHED or FAILED:
        the robot has done all it was given (a horizon may remain)."""
        return (
            not self.driving
            and not self.base_left
            and all(a.status in _FINAL for a in self.action_states)
        )

    def done(self) -> bool:
        """:meth:`idle` with no node at all left: the order is complete."""
        return self.idle() and not self.node_sequence_ids


def parse_state(
    payload: bytes | str | Mapping, *, max_bytes: int = MAX_MESSAGE_BYTES
) -> RobotState:
    """Check a ``state`` message and keep what fieldops needs; raises VdaError with the path
    of the first bad field. Bytes go through msgspec first (:mod:`.faststate`); what it does
    not take is checked here."""
    if not isinstance(payload, Mapping) and len(payload) <= max_bytes:
        fast = fast_state(payload)
        if fast is not None:
            return _from_fast(fast)
    data = payload if isinstance(payload, Mapping) else decode(payload, max_bytes=max_bytes)
    c = _Check(data, "state")
    header = _header(c)
    actions = []
    statuses = _STATUSES
    for i, raw in enumerate(c.list("actionStates")):
        # fast path for well-formed entries; the checked path names the bad field otherwise
        if type(raw) is dict:
            aid, at, st = raw.get("actionId"), raw.get("actionType", ""), raw.get("actionStatus")
            res = raw.get("resultDescription", "")
            if (
                type(aid) is str
                and type(at) is str
                and type(res) is str
                and st in statuses
                and len(aid) <= MAX_STRING
                and len(at) <= MAX_STRING
                and len(res) <= MAX_STRING
            ):
                actions.append(ActionState(action_id=aid, action_type=at, status=st, result=res))
                continue
        a = c.item("actionStates", i, raw)
        actions.append(
            ActionState(
                action_id=a.str("actionId"),
                action_type=a.str("actionType", required=False),
                status=a.str("actionStatus", choices=ACTION_STATUSES),
                result=a.str("resultDescription", required=False),
            )
        )
    errs = []
    for i, raw in enumerate(c.list("errors")):
        e = c.item("errors", i, raw)
        ids = []
        order_id, update_id = "", None
        for j, ref in enumerate(e.list("errorReferences", required=False)):
            r = e.item("errorReferences", j, ref)
            key, value = r.str("referenceKey"), r.str("referenceValue")
            if key == "actionId":
                ids.append(value)
            elif key == "orderId":
                order_id = value
            elif key == "orderUpdateId" and value.isdigit() and len(value) < 11:
                update_id = int(value)
        errs.append(
            RobotError(
                e.str("errorType"),
                e.str("errorLevel", choices=ERROR_LEVELS),
                e.str("errorDescription", required=False),
                tuple(ids),
                order_id,
                update_id,
            )
        )
    seqs = []
    base_left = False
    for i, raw in enumerate(c.list("nodeStates")):
        seq = raw.get("sequenceId") if type(raw) is dict else None
        rel = raw.get("released") if type(raw) is dict else None
        ok = type(seq) is int and 0 <= seq < 2**32 and type(rel) is bool
        if not ok:
            n = c.item("nodeStates", i, raw)
            seq, rel = n.int("sequenceId"), n.bool("released")
        seqs.append(seq)
        base_left = base_left or rel
    c.list("edgeStates")
    pos = None
    p = c.obj("agvPosition", required=False)
    if p is not None:
        pc = _Check(p, "state.agvPosition")
        pos = (pc.num("x"), pc.num("y"), pc.num("theta"), pc.str("mapId"))
    return RobotState(
        header,
        c.str("orderId", required=True),
        c.int("orderUpdateId"),
        c.str("lastNodeId"),
        c.int("lastNodeSequenceId"),
        c.bool("driving"),
        c.bool("paused", required=False),
        tuple(actions),
        tuple(errs),
        tuple(seqs),
        pos,
        base_left,
    )


def _from_fast(s) -> RobotState:
    nodes = s.nodeStates
    p = s.agvPosition
    return RobotState(
        MessageHeader(s.headerId, s.timestamp, s.version, s.manufacturer, s.serialNumber),
        s.orderId,
        s.orderUpdateId,
        s.lastNodeId,
        s.lastNodeSequenceId,
        s.driving,
        s.paused,
        tuple(s.actionStates),
        (),
        tuple(n.sequenceId for n in nodes),
        None if p is None else (p.x, p.y, p.theta, p.mapId),
        any(n.released for n in nodes),
    )


def parse_connection(
    payload: bytes | str | Mapping, *, max_bytes: int = 65_536
) -> tuple[MessageHeader, str]:
    data = payload if isinstance(payload, Mapping) else decode(payload, max_bytes=max_bytes)
    c = _Check(data, "connection")
    return _header(c), c.str("connectionState", choices=CONNECTION_STATES)


def parse_factsheet(
    payload: bytes | str | Mapping, *, max_bytes: int = MAX_MESSAGE_BYTES
) -> tuple[MessageHeader, frozenset[str]]:
    """The factsheet's header and the action types it declares."""
    data = payload if isinstance(payload, Mapping) else decode(payload, max_bytes=max_bytes)
    c = _Check(data, "factsheet")
    header = _header(c)
    feats = c.obj("protocolFeatures")
    fc = _Check(feats, "factsheet.protocolFeatures")
    types = set()
    for i, raw in enumerate(fc.list("agvActions")):
        types.add(fc.item("agvActions", i, raw).str("actionType"))
    return header, frozenset(types)


@dataclass(frozen=True, slots=True)
class OrderAction:
    action_id: str
    action_type: str
    blocking: str
    params: Mapping


@dataclass(frozen=True, slots=True)
class OrderNode:
    node_id: str
    sequence_id: int
    released: bool
    x: float | None
    y: float | None
    theta: float | None
    map_id: str
    actions: tuple[OrderAction, ...]


@dataclass(frozen=True, slots=True)
class Order:
    header: MessageHeader
    order_id: str
    order_update_id: int
    nodes: tuple[OrderNode, ...]
    edges: tuple[tuple[str, int, bool], ...]  # (edgeId, sequenceId, released)

    def action_types(self) -> set[str]:
        return {a.action_type for n in self.nodes for a in n.actions}


def _actions(c: _Check, key: str) -> tuple[OrderAction, ...]:
    out = []
    for i, raw in enumerate(c.list(key)):
        a = c.item(key, i, raw)
        params = {}
        for j, p in enumerate(a.list("actionParameters", required=False)):
            pc = a.item("actionParameters", j, p)
            params[pc.str("key")] = p.get("value")
        out.append(
            OrderAction(
                a.str("actionId"),
                a.str("actionType"),
                a.str("blockingType", choices=BLOCKING_TYPES),
                params,
            )
        )
    return tuple(out)


def parse_order(payload: bytes | str | Mapping, *, max_bytes: int = MAX_MESSAGE_BYTES) -> Order:
    """Check an ``order`` as a robot would: sequence IDs (nodes even, edges odd, contiguous),
    base before horizon, edges joining consecutive nodes."""
    data = payload if isinstance(payload, Mapping) else decode(payload, max_bytes=max_bytes)
    c = _Check(data, "order")
    header = _header(c)
    nodes = []
    for i, raw in enumerate(c.list("nodes")):
        n = c.item("nodes", i, raw)
        pos = n.obj("nodePosition", required=False)
        pc = _Check(pos or {}, f"order.nodes[{i}].nodePosition")
        nodes.append(
            OrderNode(
                n.str("nodeId"),
                n.int("sequenceId"),
                n.bool("released"),
                pc.num("x") if pos else None,
                pc.num("y") if pos else None,
                pc.num("theta", required=False) if pos else None,
                pc.str("mapId") if pos else "",
                _actions(n, "actions"),
            )
        )
    edges = []
    for i, raw in enumerate(c.list("edges")):
        e = c.item("edges", i, raw)
        edges.append(
            (
                e.str("edgeId"),
                e.int("sequenceId"),
                e.bool("released"),
                e.str("startNodeId"),
                e.str("endNodeId"),
            )
        )
        _actions(e, "actions")
    if not nodes:
        raise VdaError("order.nodes: an order needs at least one node")
    if len(edges) != len(nodes) - 1:
        raise VdaError(
            f"order.edges: {len(nodes)} nodes need {len(nodes) - 1} edges, got {len(edges)}"
        )
    for i, node in enumerate(nodes):
        if node.sequence_id % 2 or (i and node.sequence_id != nodes[i - 1].sequence_id + 2):
            raise VdaError(
                f"order.nodes[{i}].sequenceId: {node.sequence_id} breaks the even, contiguous node sequence"
            )
        if i and node.released and not nodes[i - 1].released:
            raise VdaError(f"order.nodes[{i}].released: a released node follows the horizon")
    for i, (eid, seq, released, a, b) in enumerate(edges):
        if seq != nodes[i].sequence_id + 1 or a != nodes[i].node_id or b != nodes[i + 1].node_id:
            raise VdaError(
                f"order.edges[{i}]: edge '{eid[:40]}' does not join nodes {i} and {i + 1}"
            )
        if released != nodes[i + 1].released:
            raise VdaError(f"order.edges[{i}].released: must match its end node")
    if not nodes[0].released:
        raise VdaError("order.nodes[0].released: the first node must be released")
    ids = [a.action_id for n in nodes for a in n.actions]
    if len(ids) != len(set(ids)):
        raise VdaError("order: actionIds are not unique")
    return Order(
        header,
        c.str("orderId"),
        c.int("orderUpdateId"),
        tuple(nodes),
        tuple((e[0], e[1], e[2]) for e in edges),
    )


def parse_instant_actions(
    payload: bytes | str | Mapping, *, max_bytes: int = 1024 * 1024
) -> tuple[MessageHeader, tuple[OrderAction, ...]]:
    data = payload if isinstance(payload, Mapping) else decode(payload, max_bytes=max_bytes)
    c = _Check(data, "instantActions")
    return _header(c), _actions(c, "instantActions" if "instantActions" in data else "actions")
