"""The floor's use cases on the active plan: load a plan, see the next step and the queue,
start, confirm, report and resolve problems, reassign, watch progress, export evidence.

:class:`FloorWork` holds the rules that do not belong to one entrypoint (how typed or scanned
text becomes codes, where a scanned label belongs) and talks to the store through its public
methods only, so any store with those methods serves: the SQL store on SQLite or PostgreSQL,
or an in-memory SQLite one in unit tests (``bootstrap(Settings(database_url="sqlite://"))``).
The web views and the CLI call this; they never reach the store themselves.
"""

from __future__ import annotations

import re
from pathlib import Path

from fieldops.core.errors import Invalid, NotFound
from fieldops.core.floorrules import PROBLEM_KINDS, CodeError, parse_scan, place_text

MAX_TYPED_CHARS = 2000  # the code field of the step page
_SPLIT = re.compile(r"[\s,;]+")

__all__ = ["FloorWork", "PROBLEM_KINDS"]


def concerns_crew(event: dict, crew: str) -> bool:
    """Whether a technician of ``crew`` may see an event: it is about a step their crew holds
    or held (its assignee, checker, or either side of a reassignment). Plan loads, drift
    reports, robots' connections and other crews' work are not theirs."""
    data = event.get("data") or {}
    return bool(crew) and crew in (
        data.get("assignee"),
        data.get("checker"),
        data.get("from"),
        data.get("to"),
    )


class FloorWork:
    def __init__(self, store, *, confirm_fault_delay_s: float = 0.0):
        self.store = store
        self.confirm_fault_delay_s = confirm_fault_delay_s

    # ------------------------------------------------------------ plans

    def load_plan(self, plan_path: str | Path) -> dict:
        """Load a plan folder's (or file's) workorders.json as the active revision."""
        from fieldops.adapters.store.loadplan import load_plan

        return load_plan(self.store, plan_path)

    def load_plan_document(self, doc, where: str = "workorders.json") -> dict:
        """Load a decoded workorders.json (``POST /api/plans``): the same checks and rows as
        :meth:`load_plan`."""
        from fieldops.adapters.store.loadplan import load_plan_document

        return load_plan_document(self.store, doc, where)

    def active_revision(self) -> dict | None:
        return self.store.active_revision()

    def team(self) -> list[dict]:
        return self.store.team()

    def floor(self) -> dict:
        return self.store.floor()

    # ------------------------------------------------------------ reading

    def next_step(self, assignee: str) -> dict | None:
        return self.store.next_step(assignee)

    def queue(self, assignee: str, *, limit: int = 200) -> list[dict]:
        return self.store.queue(assignee, limit=limit)

    def step(self, step_id: str, *, crew: str | None = None) -> dict:
        return self.store.step(step_id, crew=crew)

    def first_blocker(self, assignee: str) -> dict | None:
        """Why an assignee has nothing ready: their next step in the plan's order and what
        holds it: ``{"step", "waits_for"}`` (the first earlier step not done, with its
        assignee and status), or the step itself when it is blocked by a problem. None when
        their queue is empty."""
        queue = self.store.queue(assignee, limit=1)
        if not queue:
            return None
        first = self.store.step(queue[0]["id"])
        for dep in first.get("blocking") or ():
            try:
                return {"step": first, "waits_for": self.store.step(dep)}
            except NotFound:
                return {
                    "step": first,
                    "waits_for": {
                        "id": dep,
                        "title": dep,
                        "assignee": "",
                        "status": "not in this plan",
                    },
                }
        return {"step": first, "waits_for": None}

    def steps(self, **filters) -> list[dict]:
        return self.store.steps(**filters)

    def where_is(self, raw_code: str) -> dict:
        """Where a scanned or typed label belongs: ``{code, end, steps}``; each step carries
        ``end_place``, the scanned end's own place for a cable label."""
        try:
            scan = parse_scan(raw_code)
        except CodeError as exc:
            raise Invalid(str(exc)) from None
        homes = self.store.where_is(scan.code)
        if not homes:
            raise NotFound(f"{scan.describe()} is not a label of this plan")
        for h in homes:  # a cable end's own place, for the refusal a tablet shows
            end = ((h.get("cable") or {}).get("ends") or {}).get(scan.end)
            h["end_place"] = place_text(end) if end else ""
        return {"code": scan.code, "end": scan.end, "steps": homes}

    def progress(self) -> dict:
        return self.store.progress()

    def problems(self, *, status: str | None = "open") -> list[dict]:
        if status not in ("open", "resolved", None):
            raise Invalid("'status' must be open, resolved or all")
        return self.store.problems(status=status)

    def events_after(self, after_id: int = 0, *, limit: int = 200) -> list[dict]:
        return self.store.events_after(after_id, limit=limit)

    SCOPED_SCAN = 5  # pages of the log one crew-scoped read looks through at most

    def events_for(
        self, after_id: int = 0, *, limit: int = 200, crew: str | None = None
    ) -> tuple[list[dict], int, bool]:
        """Events after an ID as a role may see them, the ID the log was read up to (ask
        again from there) and whether that is the log's end. ``crew=None``: the whole log
        (leads, planners, admins); a crew (technicians): only events about steps that crew
        holds or held (:func:`concerns_crew`), looking through at most SCOPED_SCAN pages of
        the log per call."""
        if crew is None:
            events = self.store.events_after(after_id, limit=limit)
            return events, events[-1]["id"] if events else after_id, len(events) < limit
        seen, mine = after_id, []
        for _ in range(self.SCOPED_SCAN):
            page = self.store.events_after(seen, limit=1000)
            for ev in page:
                seen = ev["id"]
                if concerns_crew(ev, crew):
                    mine.append(ev)
                    if len(mine) == limit:
                        return mine, seen, False
            if len(page) < 1000:
                return mine, seen, True
        return mine, seen, False

    def last_event_id(self) -> int:
        return self.store.last_event_id()

    def confirmations(self, *, after: int = 0, limit: int = 1000) -> list[dict]:
        return self.store.confirmations(after=after, limit=limit)

    def latest_drift(self) -> dict | None:
        """The latest drift report a lead loaded for the active plan's hall."""
        return self.store.latest_drift()

    def load_drift(self, doc, *, actor: str) -> dict:
        """Keep a drift.json ('fieldops reconcile') for the dashboard."""
        return self.store.load_drift(doc, actor=actor)

    # ------------------------------------------------------------ acting

    def start(self, step_id: str, *, actor: str, crew: str | None) -> dict:
        return self.store.start(step_id, actor=actor, crew=crew)

    def confirm(
        self,
        step_id: str,
        *,
        client_id: str,
        actor: str,
        crew: str | None,
        codes: list[str] | str = (),
        evidence: dict | None = None,
    ):
        """Confirm a step with the codes scanned or typed (a list, or the text of the code
        field: blanks, commas and semicolons separate codes); a retry with the same
        ``client_id`` returns the first result (``duplicate``)."""
        if isinstance(codes, str):
            if len(codes) > MAX_TYPED_CHARS:
                raise Invalid("too much text in the code field")
            codes = [c for c in _SPLIT.split(codes) if c]
        elif not all(isinstance(c, str) for c in codes):
            raise Invalid("'codes' must be a list of strings")
        return self.store.confirm(
            step_id,
            client_id=client_id,
            actor=actor,
            crew=crew,
            codes=list(codes),
            evidence=evidence or {},
            fault_delay_s=self.confirm_fault_delay_s,
        )

    def report_problem(
        self, step_id: str, *, kind: str, note: str = "", actor: str, crew: str | None
    ) -> dict:
        return self.store.report_problem(step_id, kind=kind, note=note, actor=actor, crew=crew)

    def resolve_problem(self, problem_id: int, *, actor: str, resolution: str = "") -> dict:
        return self.store.resolve_problem(problem_id, actor=actor, resolution=resolution)

    def reassign(self, step_id: str, assignee: str, *, actor: str) -> dict:
        return self.store.reassign(step_id, assignee, actor=actor)
