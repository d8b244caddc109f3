"""Pure rules of the floor: what a scanned code means, whether it confirms a step, readiness,
and the time-to-completion estimate. No I/O: the repository and the web app call these.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from fieldops.core.labels import parse_qr_payload
from fieldops.core.workorder import (
    CABLE_STEP_KINDS,
    CONFIRM_MANUAL,
    CONFIRM_ROBOT,
    CONFIRM_ROBOT_AND_TECH,
    CONFIRM_SCAN_ASSET,
    CONFIRM_SCAN_LABEL,
)

MAX_CODE_LEN = 200
_CODE_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:/\-]*$")

AWAITING = "awaiting_confirmation"  # a robot finished a robot+technician step
OPEN_STATUSES = ("pending", "ready", "in_progress", AWAITING)
DONE = "done"
BLOCKED = "blocked"
FAILED = "failed"
PROBLEM_KINDS = ("wrong_length", "damaged_port", "missing_part", "other")


@dataclass(frozen=True, slots=True)
class Scan:
    """A parsed scan: the code a step expects (cable ID or asset tag) and the cable end, if any."""

    raw: str
    code: str
    end: str = ""

    def describe(self) -> str:
        return f"{self.code} end {self.end}" if self.end else self.code


class CodeError(ValueError):
    """A scanned or typed code that cannot be a label at all."""


def parse_scan(raw: str) -> Scan:
    """Parse what the camera or the keyboard produced.

    Cable labels encode ``f"{cable_id}/{end}"`` (``fieldops.core.labels.qr_payload``); asset tags
    and bare cable IDs are accepted as typed. Case and surrounding blanks do not matter.

    >>> parse_scan(" c-4k7q2m9/a ")
    Scan(raw='C-4K7Q2M9/A', code='C-4K7Q2M9', end='A')
    """
    if not isinstance(raw, str):
        raise CodeError("a scanned code must be text")
    if len(raw) > MAX_CODE_LEN:
        raise CodeError(
            f"the scanned code is {len(raw)} characters long; a label holds at most {MAX_CODE_LEN}"
        )
    text = raw.strip(" \t\r\n")
    if not text:
        raise CodeError("the scanned code is empty")
    if not _CODE_RE.fullmatch(text):  # ASCII before upper(): 'ﬀ'.upper() is 'FF'
        raise CodeError(
            "the scanned code has characters no fieldops label uses (letters, digits and - . _ : / only)"
        )
    text = text.upper()
    if "/" in text or text.startswith("C-"):  # the label module owns the payload format
        try:
            cable_id, end = parse_qr_payload(text)
        except ValueError:  # not one of our labels: read as typed below
            pass
        else:
            return Scan(text, cable_id, end or "")
    code, sep, end = text.partition("/")
    if sep and (not code or not end or "/" in end):
        raise CodeError(f"'{text}' is not a cable label (expected CABLE-ID/END, e.g. C-4K7Q2M9/A)")
    return Scan(text, code, end)


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    message: str
    wrong: tuple[Scan, ...] = ()
    missing: tuple[str, ...] = ()  # expected codes not scanned, or "CODE/END" ends not scanned


# ---------------------------------------------------------------- cable ends

END_LETTERS = ("A", "B")


def cable_card(step_kind: str, action) -> dict | None:
    """What a technician needs to run a cable or plug a cord, from its step's action: the
    cable ID, media, SKU, ordered length, tray path and both labelled ends (``ends``: end
    letter -> device, port, rack, location ID, U, face, label text, floor point). None for
    other steps.

    >>> card = cable_card("run_cable", {"cable": "C-1", "a": {"device": "srv", "port": "p0", "rack": "A01"},
    ...                                  "b": {"device": "sw", "port": "swp1", "rack": "B02"}})
    >>> sorted(card["ends"]), card["ends"]["B"]["rack"]
    (['A', 'B'], 'B02')
    """
    if step_kind not in CABLE_STEP_KINDS or not isinstance(action, dict):
        return None
    ends = {}
    for key, letter in zip(("a", "b"), END_LETTERS, strict=True):
        e = action.get(key)
        if not isinstance(e, dict) or not e.get("device"):
            return None
        ends[letter] = {
            k: e.get(k)
            for k in ("device", "port", "rack", "location_id", "u", "face", "label", "x_mm", "y_mm")
        }
    return {
        "cable": str(action.get("cable") or ""),
        "media": str(action.get("media") or ""),
        "sku": str(action.get("sku") or ""),
        "length_mm": int(action.get("length_mm") or 0),
        "tray_path": [str(t) for t in action.get("tray_path") or ()],
        "ends": ends,
    }


def place_text(end: dict) -> str:
    """Where a cable end goes, as a technician reads it: rack, location, U, face, device:port.

    >>> place_text({"rack": "B03", "location_id": "1A-B03", "u": 14, "face": "rear",
    ...             "device": "srv-28", "port": "eth1"})
    'rack B03 (1A-B03), U14, rear, srv-28:eth1'
    """
    rack = f"rack {end.get('rack')}" if end.get("rack") else ""
    if rack and end.get("location_id"):
        rack += f" ({end['location_id']})"
    u = f"U{end['u']}" if end.get("u") is not None else ""
    port = f"{end.get('device')}:{end.get('port')}" if end.get("device") else ""
    return ", ".join(x for x in (rack, u, str(end.get("face") or ""), port) if x)


def check_scans(
    confirm_rule: str,
    expect_codes: list[str] | tuple[str, ...],
    scans: list[Scan],
    ends: dict | None = None,
) -> Verdict:
    """Do these scans confirm a step with this rule and these expected codes?

    Every scan must be one of the expected codes (a wrong cable is refused even when the right
    one was scanned too); scan rules need every expected code at least once. A cable or cord
    (``ends``: its two labelled ends) confirmed by scanning needs the label at both ends, in
    either order: one end says nothing about a cross-plug at the other.
    """
    expected = [c.upper() for c in expect_codes]
    wrong = tuple(s for s in scans if s.code not in expected)
    if wrong:
        names = ", ".join(s.describe() for s in wrong)
        return Verdict(
            False,
            f"{names} is not part of this step (expected {', '.join(expected) or 'no code'})",
            wrong=wrong,
        )
    if confirm_rule in (CONFIRM_SCAN_LABEL, CONFIRM_SCAN_ASSET) and expected:
        seen = {s.code for s in scans}
        missing = tuple(c for c in expected if c not in seen)
        if missing:
            what = "cable label" if confirm_rule == CONFIRM_SCAN_LABEL else "asset tag"
            if confirm_rule == CONFIRM_SCAN_LABEL and ends:
                return _missing_ends(expected, scans, ends)
            return Verdict(
                False,
                f"scan the {what} of {', '.join(missing)} to confirm this step",
                missing=missing,
            )
    if confirm_rule == CONFIRM_SCAN_LABEL and ends and expected:
        return _missing_ends(expected, scans, ends)
    return Verdict(True, "ok")


def _missing_ends(expected: list[str], scans: list[Scan], ends: dict) -> Verdict:
    """Both ends of each expected cable scanned, else which end is missing and where it is."""
    missing = []
    for code in expected:
        seen = {s.end for s in scans if s.code == code}
        missing += [(code, e) for e in END_LETTERS if e not in seen]
    if not missing:
        return Verdict(True, "ok")
    if len(missing) == 2 * len(expected) and not any(s.end for s in scans):
        code = expected[0]
        if any(s.code == code for s in scans):  # typed the bare cable ID: no end named
            why = f"{code} names no end: scan the label at each end ({code}/A and {code}/B)"
        else:
            why = f"scan the label at each end of {code} ({code}/A and {code}/B)"
        return Verdict(False, why, missing=tuple(f"{c}/{e}" for c, e in missing))
    parts = [f"end {e} ({place_text(ends[e])})" for _, e in missing if e in ends]
    return Verdict(
        False,
        "scan the label at both ends: " + " and ".join(parts) + " not scanned yet",
        missing=tuple(f"{c}/{e}" for c, e in missing),
    )


def human_can_confirm(confirm_rule: str, status: str) -> tuple[bool, str]:
    """Robot steps complete on the robot's FINISHED; robot+technician steps need it first."""
    if confirm_rule == CONFIRM_ROBOT:
        return False, "this step is confirmed by the robot when its action finishes"
    if confirm_rule == CONFIRM_ROBOT_AND_TECH and status != AWAITING:
        return (
            False,
            "the robot has not finished this step yet; confirm it after the robot reports FINISHED",
        )
    return True, ""


ROBOT_RULES = (CONFIRM_ROBOT, CONFIRM_ROBOT_AND_TECH)


def rule_for_people(step_kind: str, expect_codes) -> str:
    """How a technician confirms a robot's step handed to them: by scanning what the robot
    would have verified (the cable label, the asset tag), else by hand."""
    if not expect_codes:
        return CONFIRM_MANUAL
    return CONFIRM_SCAN_LABEL if step_kind in CABLE_STEP_KINDS else CONFIRM_SCAN_ASSET


def how_for(confirm_rule: str, scans: list[Scan]) -> str:
    return "scan" if scans else ("robot" if confirm_rule == CONFIRM_ROBOT else "manual")


def is_ready(status: str, depends_on, status_of: dict[str, str]) -> bool:
    """An open step is ready when every step it depends on is done."""
    return status in OPEN_STATUSES and all(status_of.get(d) == DONE for d in depends_on)


def display_status(status: str, depends_on, status_of: dict[str, str]) -> str:
    if status == "pending" and is_ready(status, depends_on, status_of):
        return "ready"
    return status


def estimate_remaining_s(steps: list[dict], confirmations: list[dict]) -> dict:
    """Time to completion from actual confirmations.

    ``steps``: dicts with ``step_id``, ``assignee``, ``duration_s``, ``status``;
    ``confirmations``: dicts with ``step_id``, ``assignee`` and ``at`` (seconds). Each assignee's
    pace is the time actually spent between consecutive confirmations divided by the estimated
    durations of the steps confirmed in that time (1.0 before two confirmations exist, clamped to
    0.25..4). The remaining work of an assignee is its open estimated time times its pace; the
    estimate is the largest of those (crews work in parallel).

    >>> steps = [dict(step_id="a", assignee="t1", duration_s=60, status="done"),
    ...          dict(step_id="b", assignee="t1", duration_s=60, status="done"),
    ...          dict(step_id="c", assignee="t1", duration_s=60, status="pending")]
    >>> confs = [dict(step_id="a", assignee="t1", at=0.0), dict(step_id="b", assignee="t1", at=120.0)]
    >>> estimate_remaining_s(steps, confs)["remaining_s"]
    120.0
    """
    duration = {s["step_id"]: float(s["duration_s"]) for s in steps}
    by_who: dict[str, list[dict]] = {}
    for c in sorted(confirmations, key=lambda c: (c["assignee"], c["at"], c["step_id"])):
        by_who.setdefault(c["assignee"], []).append(c)
    pace: dict[str, float] = {}
    for who, confs in by_who.items():
        actual = sum(b["at"] - a["at"] for a, b in zip(confs, confs[1:], strict=False))
        planned = sum(duration.get(c["step_id"], 0.0) for c in confs[1:])
        if len(confs) >= 2 and planned > 0 and actual > 0:
            pace[who] = min(4.0, max(0.25, actual / planned))
    remaining: dict[str, float] = {}
    for s in steps:
        if s["status"] != DONE:
            who = s["assignee"] or "(unassigned)"
            remaining[who] = remaining.get(who, 0.0) + float(s["duration_s"]) * pace.get(who, 1.0)
    per = {who: round(v, 1) for who, v in sorted(remaining.items())}
    return {
        "remaining_s": max(per.values(), default=0.0),
        "per_assignee_s": per,
        "pace": {who: round(v, 3) for who, v in sorted(pace.items())},
    }
