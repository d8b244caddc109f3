"""The work-order store: SQLAlchemy Core statements (parameterised only) over the rows in
``models``. One :class:`Store` per process; it is thread-safe (one connection per call).

Writes on SQLite run under ``BEGIN IMMEDIATE`` (one writer at a time, no lock upgrades that
fail under load); on PostgreSQL the step row is locked ``FOR UPDATE``. A confirmation is
recorded at most once per step and at most once per client-generated ID.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
import time
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass

from sqlalchemy import (
    Float,
    String,
    and_,
    bindparam,
    func,
    insert,
    literal,
    or_,
    select,
    union_all,
    update,
)
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: threads still queue, processes use SQLite's
    fcntl = None

from fieldops.adapters.store import rules
from fieldops.adapters.store.drift import DriftReports
from fieldops.adapters.store.engine import SqliteWriteLock, check_url, make_engine
from fieldops.adapters.store.models import (
    ROLES,
    ApiTokenRow,
    AssigneeRow,
    ConfirmationRow,
    DesignRow,
    EventRow,
    ProblemRow,
    RevisionRow,
    StepCodeRow,
    StepDepRow,
    StepRow,
    UserRow,
    WorkOrderRow,
)
from fieldops.core.workorder import (
    CONFIRM_ROBOT_AND_TECH,
    PHASES,
    STATUSES,
    WorkPlan,
    step_to_dict,
)

T_DESIGN = DesignRow.__table__
T_REV = RevisionRow.__table__
T_ASSIGNEE = AssigneeRow.__table__
T_WO = WorkOrderRow.__table__
T_STEP = StepRow.__table__
T_CODE = StepCodeRow.__table__
T_CONF = ConfirmationRow.__table__
T_PROBLEM = ProblemRow.__table__
T_USER = UserRow.__table__
T_TOKEN = ApiTokenRow.__table__
T_EVENT = EventRow.__table__
T_DEP = StepDepRow.__table__

MAX_NOTE = 2000
STEP_COLS = [c for c in T_STEP.c if c.name != "data"]  # everything a view needs; data is for export
MAX_NAME = 100

# ---------------------------------------------------------------- hot statements, built once
# The tablet's two requests (next step, confirm) run these. Building a statement costs more
# than running it on SQLite, so they are made once with bound parameters.

_DEP = T_DEP.alias("d")
_DEP_STEP = T_STEP.alias("dep_step")
# how many of a step's dependencies are not done (a dependency naming no step counts)
UNMET = (
    select(func.count())
    .select_from(_DEP.outerjoin(_DEP_STEP, _DEP_STEP.c.id == _DEP.c.dep))
    .where(
        _DEP.c.step == T_STEP.c.id,
        or_(_DEP_STEP.c.status.is_(None), _DEP_STEP.c.status != rules.DONE),
    )
    .correlate(T_STEP)
    .scalar_subquery()
)
_UNMET_ANY = (
    select(_DEP.c.id)
    .select_from(_DEP.outerjoin(_DEP_STEP, _DEP_STEP.c.id == _DEP.c.dep))
    .where(
        _DEP.c.step == T_STEP.c.id,
        or_(_DEP_STEP.c.status.is_(None), _DEP_STEP.c.status != rules.DONE),
    )
    .correlate(T_STEP)
    .exists()
)


def _ready_in_queue(statuses: tuple[str, ...]):
    return (
        select(*STEP_COLS)
        .where(
            T_STEP.c.revision_id == bindparam("rid"),
            T_STEP.c.assignee == bindparam("who"),
            T_STEP.c.status.in_(statuses) if len(statuses) > 1 else T_STEP.c.status == statuses[0],
            ~_UNMET_ANY,
        )
        .order_by(T_STEP.c.wo_seq, T_STEP.c.seq)
        .limit(1)
    )


def _check_for(who):
    """A robot's finished robot+technician step waiting for ``who``, the technician booked to
    check it (a step handed to a person has another rule: no longer a check)."""
    return and_(
        T_STEP.c.checker == who,
        T_STEP.c.status == rules.AWAITING,
        T_STEP.c.confirm == CONFIRM_ROBOT_AND_TECH,
    )


NEXT_CHECK = (
    select(*STEP_COLS)
    .where(T_STEP.c.revision_id == bindparam("rid"), _check_for(bindparam("who")))
    .order_by(T_STEP.c.seq)
    .limit(1)
)
# an assignee's step in progress whose dependencies are done, else a robot's work waiting for
# their check (whatever builds on it waits too), else their first ready step
NEXT_IN_PROGRESS = _ready_in_queue(("in_progress",))
NEXT_READY = _ready_in_queue(tuple(s for s in rules.OPEN_STATUSES if s != "in_progress"))
_next_u = union_all(
    select(NEXT_IN_PROGRESS.subquery(), literal(0).label("pri")),
    select(NEXT_CHECK.subquery(), literal(1).label("pri")),
    select(NEXT_READY.subquery(), literal(2).label("pri")),
).subquery()
NEXT_STEP = select(*(c for c in _next_u.c if c.name != "pri")).order_by(_next_u.c.pri).limit(1)
LOCK_STEP = select(*STEP_COLS, UNMET.label("unmet")).where(
    T_STEP.c.revision_id == bindparam("rid"), T_STEP.c.step_id == bindparam("sid")
)
CONF_BY_CLIENT = select(T_CONF).where(T_CONF.c.client_id == bindparam("cid"))
# PostgreSQL: a round trip costs more than a statement, so the lock also answers whether
# this client ID was recorded before (a retry), and _record is one statement (RECORD_PG)
LOCK_STEP_PG = (
    LOCK_STEP.add_columns(
        select(T_CONF.c.id)
        .where(T_CONF.c.client_id == bindparam("cid"))
        .scalar_subquery()
        .label("prior_conf")
    )
).with_for_update(of=T_STEP)
CONFS_OF_STEP = select(T_CONF).where(T_CONF.c.step == bindparam("pk")).order_by(T_CONF.c.id)
PROBLEMS_OF_STEP = (
    select(T_PROBLEM).where(T_PROBLEM.c.step == bindparam("pk")).order_by(T_PROBLEM.c.id)
)
# where an assignee stands: the step they finished last
LAST_DONE = (
    select(T_STEP.c.x_mm, T_STEP.c.y_mm)
    .where(
        T_STEP.c.revision_id == bindparam("rid"),
        T_STEP.c.assignee == bindparam("who"),
        T_STEP.c.status == rules.DONE,
    )
    .order_by(T_STEP.c.updated_at.desc(), T_STEP.c.wo_seq.desc())
    .limit(1)
)
MARK_DONE = (
    update(T_STEP)
    .where(T_STEP.c.id == bindparam("b_pk"), T_STEP.c.version == bindparam("b_version"))
    .values(
        status=rules.DONE,
        status_detail="",
        updated_at=bindparam("b_now"),
        version=bindparam("b_version") + 1,
    )
)
INSERT_CONF = insert(T_CONF)
# the steps that expect a scanned code: where a cable or asset belongs
CODE_HOMES = (
    select(
        *(
            T_STEP.c[k]
            for k in ("step_id", "title", "rack", "location_id", "face", "u", "assignee", "status")
        )
    )
    .join(T_CODE, T_CODE.c.step == T_STEP.c.id)
    .where(T_CODE.c.revision_id == bindparam("rid"), T_CODE.c.code == bindparam("code"))
    .order_by(T_STEP.c.seq)
)
INSERT_EVENT = insert(T_EVENT)


def _record_pg():
    """MARK_DONE, INSERT_CONF and INSERT_EVENT as one statement: the confirmation is inserted
    only when the step's version still matched, the event only when the confirmation was.
    Parameters other than MARK_DONE's are prefixed: an UPDATE takes any parameter named
    like a column of ``steps`` as a value to set."""
    now = bindparam("b_now", type_=Float)
    actor = bindparam("c_actor", type_=String)
    done = MARK_DONE.returning(T_STEP.c.id).cte("done")
    conf = (
        insert(T_CONF)
        .from_select(
            ["client_id", "step", "actor", "how", "at", "codes", "evidence"],
            select(
                bindparam("c_client_id", type_=String),
                done.c.id,
                actor,
                bindparam("c_how", type_=String),
                now,
                bindparam("c_codes", type_=T_CONF.c.codes.type),
                bindparam("c_evidence", type_=T_CONF.c.evidence.type),
            ),
        )
        .returning(T_CONF.c.id)
        .cte("conf")
    )
    ev = (
        insert(T_EVENT)
        .from_select(
            ["at", "hall", "kind", "step_id", "actor", "data"],
            select(
                now,
                bindparam("e_hall", type_=String),
                literal("step_confirmed", type_=String),
                bindparam("e_step_id", type_=String),
                actor,
                bindparam("e_data", type_=T_EVENT.c.data.type),
            ).select_from(conf),
        )
        .returning(T_EVENT.c.id)
        .cte("ev")
    )
    return select(conf.c.id.label("conf_id"), select(ev.c.id).scalar_subquery().label("event_id"))


RECORD_PG = _record_pg()


def _where(row) -> dict:
    """Where a step stands, carried by every event about it: the lead's live views colour and
    count by assignee, phase and rack."""
    return {"assignee": row["assignee"], "phase": row["phase"], "rack": row["rack"]}


# ---------------------------------------------------------------- errors


class StoreError(Exception):
    """A refused action; ``status`` is the HTTP status the web layer answers with."""

    status = 400

    def __init__(self, message: str, **details):
        super().__init__(message)
        self.message = message
        self.details = details


class NotFound(StoreError):
    status = 404


class Conflict(StoreError):
    status = 409


class Forbidden(StoreError):
    status = 403


class Refused(StoreError):
    """The evidence does not confirm the step (wrong cable, missing scan)."""

    status = 422


class Invalid(StoreError):
    status = 400


@dataclass(frozen=True)
class ConfirmResult:
    confirmation: dict
    step: dict
    duplicate: bool  # True when this client ID was already recorded (a retry)


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


def _clean(text, field: str, *, max_len: int, required: bool = False) -> str:
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise Invalid(f"{field} must be text")
    text = text.strip()
    if "\x00" in text:
        raise Invalid(f"{field} contains a NUL character")
    if required and not text:
        raise Invalid(f"{field} is required")
    if len(text) > max_len:
        raise Invalid(f"{field} is {len(text)} characters long; at most {max_len} are allowed")
    return text


# ---------------------------------------------------------------- the store


class Store(DriftReports):
    """The repository. ``clock`` returns seconds since the epoch (tests pass a fake)."""

    def __init__(
        self,
        url: str,
        *,
        clock: Callable[[], float] = time.time,
        migrate: bool = True,
        pool_size: int = 10,
    ):
        self.url = url
        check_url(url)  # DatabaseUrlError: one line of advice before anything connects
        self.engine = make_engine(url, pool_size=pool_size)
        self.clock = clock
        self.password_method = "scrypt"  # werkzeug.security method; tests may pick a cheaper one
        self.listeners: list[Callable[[dict], None]] = []
        self._rev_cache: tuple[float, dict | None] = (0.0, None)
        self._token_cache: dict[str, tuple[float, dict]] = {}
        self._write_lock = (
            SqliteWriteLock(make_url(url).database)
            if self.engine.dialect.name == "sqlite"
            else contextlib.nullcontext()
        )
        # PostgreSQL connections are in autocommit: _write sends BEGIN/COMMIT itself
        self._own_transactions = self.engine.dialect.name == "postgresql"
        if migrate:
            from fieldops.adapters.store.migrate import migrate as run_migrations

            if self._own_transactions:  # migrations need a transaction (and its lock)
                eng = make_engine(url, pool_size=1, autocommit=False)
                try:
                    run_migrations(eng)
                finally:
                    eng.dispose()
            else:
                run_migrations(self.engine)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def close(self) -> None:
        self.engine.dispose()
        if isinstance(self._write_lock, SqliteWriteLock):
            self._write_lock.close()

    # ------------------------------------------------------------ transactions

    @contextmanager
    def _read(self):
        if self._own_transactions:  # PostgreSQL, autocommit: one round trip per statement
            with self.engine.connect() as conn:
                yield conn
            return
        with self.engine.connect() as conn, conn.begin():  # SQLite: one snapshot
            yield conn

    @contextmanager
    def _write(self):
        events: list[dict] = []
        with (
            self._write_lock,
            self.engine.connect().execution_options(fieldops_write=True) as conn,
        ):
            conn.info["fieldops_events"] = events
            if self._own_transactions:
                conn.exec_driver_sql("BEGIN")
                try:
                    yield conn
                except BaseException:
                    with contextlib.suppress(Exception):  # a lost connection rolled back already
                        conn.exec_driver_sql("ROLLBACK")
                    raise
                conn.exec_driver_sql("COMMIT")
            else:
                with conn.begin():
                    yield conn
            conn.info.pop("fieldops_events", None)
        for ev in events:  # after commit only
            for listener in list(self.listeners):
                with contextlib.suppress(Exception):  # a broken listener must not undo a commit
                    listener(ev)

    @staticmethod
    def _change_step(conn: Connection, row, now: float, **values) -> None:
        """Set ``values`` on a step read (and locked) in this transaction: every change bumps
        its version, which a confirmation's MARK_DONE checks."""
        conn.execute(
            update(T_STEP)
            .where(T_STEP.c.id == row["id"])
            .values(**values, updated_at=now, version=row["version"] + 1)
        )

    def _event(
        self,
        conn: Connection,
        kind: str,
        *,
        hall: str,
        step_id: str = "",
        actor: str = "",
        data: dict | None = None,
    ) -> dict:
        ev = {
            "at": self.clock(),
            "hall": hall,
            "kind": kind,
            "step_id": step_id,
            "actor": actor,
            "data": data or {},
        }
        return self._queue_event(conn, conn.execute(INSERT_EVENT, ev).inserted_primary_key[0], ev)

    def _step_event(self, conn: Connection, kind: str, rev: dict, row, actor: str, /, **data):
        """An event about a step: ``data`` plus where the step stands (:func:`_where`)."""
        return self._event(
            conn,
            kind,
            hall=rev["hall"],
            step_id=row["step_id"],
            actor=actor,
            data={**_where(row), **data},
        )

    @staticmethod
    def _queue_event(conn: Connection, event_id: int, ev: dict) -> dict:
        """An inserted event, told to the listeners once the transaction commits."""
        ev = {"id": event_id, **ev}
        conn.info["fieldops_events"].append(ev)
        return ev

    # ------------------------------------------------------------ plans

    def load_plan(
        self,
        plan: WorkPlan,
        *,
        design: str = "",
        revision: str = "",
        hall: str = "",
        floor: dict | None = None,
        paths: dict | None = None,
    ) -> dict:
        """Load a work plan as the active revision.

        Loading the same design revision again changes nothing (it returns the existing one);
        a new revision becomes the active one. ``paths`` maps step ID to a walking polyline
        (default: straight segments from each assignee's previous step).
        """
        schema = "fieldops.workorders/1.0"
        design = _clean(design, "design name", max_len=200, required=True)
        revision = _clean(revision or "1", "revision", max_len=100)
        hall = _clean(hall or design, "hall", max_len=100)
        if paths is None:  # straight segments between consecutive steps of each assignee
            from fieldops.adapters.store.floor import straight
            from fieldops.adapters.store.loadplan import walking_paths

            paths = walking_paths(plan, floor or {}, straight)
        now = self.clock()
        with self._write() as conn:
            did = conn.execute(select(T_DESIGN.c.id).where(T_DESIGN.c.name == design)).scalar()
            if did is None:
                did = conn.execute(insert(T_DESIGN).values(name=design)).inserted_primary_key[0]
            existing = (
                conn.execute(
                    select(T_REV).where(T_REV.c.design_id == did, T_REV.c.revision == revision)
                )
                .mappings()
                .first()
            )
            if existing is not None:
                n = conn.execute(
                    select(func.count())
                    .select_from(T_STEP)
                    .where(T_STEP.c.revision_id == existing["id"])
                ).scalar()
                conn.execute(update(T_REV).where(T_REV.c.id != existing["id"]).values(active=False))
                conn.execute(update(T_REV).where(T_REV.c.id == existing["id"]).values(active=True))
                self._rev_cache = (0.0, None)
                return {
                    "revision_id": existing["id"],
                    "design": design,
                    "revision": revision,
                    "hall": existing["hall"],
                    "steps": n,
                    "new": False,
                }
            conn.execute(update(T_REV).values(active=False))
            rid = conn.execute(
                insert(T_REV).values(
                    design_id=did,
                    revision=revision,
                    hall=hall,
                    schema=schema,
                    loaded_at=now,
                    active=True,
                    makespan_s=float(plan.makespan_s),
                    critical_path=list(plan.critical_path),
                    floor=floor or {},
                )
            ).inserted_primary_key[0]
            if plan.team:
                conn.execute(
                    insert(T_ASSIGNEE),
                    [
                        {"revision_id": rid, "name": a.name, "profile": a.profile, "kind": a.kind}
                        for a in plan.team
                    ],
                )
            wo_of: dict[str, tuple[str, int]] = {}
            wo_rows = []
            for wo in plan.workorders:
                for i, sid in enumerate(wo.steps):
                    wo_of[sid] = (wo.id, i)
                wo_rows.append(
                    {
                        "revision_id": rid,
                        "wo_id": wo.id,
                        "title": wo.title,
                        "assignee": wo.assignee,
                        "shift": wo.shift,
                        "area": wo.area,
                        "walking_m": float(wo.walking_m),
                        "steps": list(wo.steps),
                    }
                )
            if wo_rows:
                conn.execute(insert(T_WO), wo_rows)
            # the technicians booked to check robots' robot+technician steps
            checker = {
                c["step"]: c["technician"] for c in (plan.stats or {}).get("confirmations", ())
            }
            step_rows = []
            for seq, s in enumerate(plan.steps):
                wo_id, wo_seq = wo_of.get(s.id, ("", seq))
                loc = s.location
                step_rows.append(
                    {
                        "revision_id": rid,
                        "step_id": s.id,
                        "seq": seq,
                        "wo_seq": seq,
                        "workorder": wo_id,
                        "phase": s.phase,
                        "kind": s.kind,
                        "title": s.title,
                        "instruction": s.instruction,
                        "rack": loc.rack,
                        "location_id": loc.location_id,
                        "face": loc.face,
                        "u": loc.u,
                        "x_mm": int(loc.x_mm),
                        "y_mm": int(loc.y_mm),
                        "confirm": s.confirm,
                        "expect_codes": [c.upper() for c in s.expect_codes],
                        "parts": [
                            {"kind": p.kind, "ref": p.ref, "sku": p.sku, "quantity": p.quantity}
                            for p in s.parts
                        ],
                        "depends_on": list(s.depends_on),
                        "duration_s": float(s.duration_s),
                        "assignee": s.assignee,
                        "planned_assignee": s.assignee,
                        "checker": str(checker.get(s.id, ""))[:MAX_NAME],
                        "status": s.status if s.status in STATUSES else "pending",
                        "status_detail": "",
                        "updated_at": now,
                        "version": 0,
                        "path": paths.get(s.id, []),
                        "data": json.loads(json.dumps(step_to_dict(s), default=str)),
                    }
                )
            if step_rows:
                conn.execute(insert(T_STEP), step_rows)
            pk = dict(
                conn.execute(
                    select(T_STEP.c.step_id, T_STEP.c.id).where(T_STEP.c.revision_id == rid)
                ).all()
            )
            codes = [
                {"revision_id": rid, "code": c.upper(), "step": pk[s.id]}
                for s in plan.steps
                for c in s.expect_codes
            ]
            if codes:
                conn.execute(insert(T_CODE), codes)
            deps = [{"step": pk[s.id], "dep": pk.get(d)} for s in plan.steps for d in s.depends_on]
            if deps:
                conn.execute(insert(T_DEP), deps)
            self._event(
                conn,
                "plan_loaded",
                hall=hall,
                data={"design": design, "revision": revision, "steps": len(step_rows)},
            )
        self._rev_cache = (0.0, None)
        return {
            "revision_id": rid,
            "design": design,
            "revision": revision,
            "hall": hall,
            "steps": len(step_rows),
            "new": True,
        }

    def active_revision(self) -> dict | None:
        """The revision the floor works from (cached for a second: it changes only on load)."""
        at, cached = self._rev_cache
        now = time.monotonic()
        if cached is not None and now - at < 1.0:
            return cached
        with self._read() as conn:
            row = (
                conn.execute(
                    select(T_REV, T_DESIGN.c.name.label("design"))
                    .join(T_DESIGN, T_DESIGN.c.id == T_REV.c.design_id)
                    .where(T_REV.c.active.is_(True))
                    .order_by(T_REV.c.id.desc())
                    .limit(1)
                )
                .mappings()
                .first()
            )
        rev = dict(row) if row else None
        self._rev_cache = (now, rev)
        return rev

    def _active(self) -> dict:
        """The active revision, or NotFound when no plan is loaded."""
        rev = self.active_revision()
        if rev is None:
            raise NotFound("no plan is loaded yet (fieldops load PLAN_DIR)")
        return rev

    def _rid(self) -> int:
        return self._active()["id"]

    def hall(self) -> str:
        rev = self.active_revision()
        return rev["hall"] if rev else ""

    def team(self) -> list[dict]:
        rev = self.active_revision()
        if rev is None:
            return []
        with self._read() as conn:
            rows = (
                conn.execute(
                    select(T_ASSIGNEE.c.name, T_ASSIGNEE.c.profile, T_ASSIGNEE.c.kind)
                    .where(T_ASSIGNEE.c.revision_id == rev["id"])
                    .order_by(T_ASSIGNEE.c.name)
                )
                .mappings()
                .all()
            )
        return [dict(r) for r in rows]

    def work_orders(self) -> list[dict]:
        rev = self.active_revision()
        if rev is None:
            return []
        with self._read() as conn:
            rows = (
                conn.execute(
                    select(T_WO).where(T_WO.c.revision_id == rev["id"]).order_by(T_WO.c.wo_id)
                )
                .mappings()
                .all()
            )
        return [{k: v for k, v in r.items() if k not in ("id", "revision_id")} for r in rows]

    # ------------------------------------------------------------ users and tokens

    def add_user(self, name: str, password: str, role: str, *, crew: str = "") -> dict:
        name = _clean(name, "user name", max_len=MAX_NAME, required=True)
        if role not in ROLES:
            raise Invalid(f"role must be one of {', '.join(ROLES)}, not '{role}'")
        if not isinstance(password, str) or len(password) < 8:
            raise Invalid("a password needs at least 8 characters")
        if len(password) > 1000:
            raise Invalid("a password can have at most 1000 characters")
        crew = _clean(crew, "crew", max_len=MAX_NAME)
        with self._write() as conn:
            if conn.execute(select(T_USER.c.id).where(T_USER.c.name == name)).first():
                raise Conflict(f"user '{name}' already exists")
            conn.execute(
                insert(T_USER).values(
                    name=name,
                    password_hash=generate_password_hash(password, method=self.password_method),
                    role=role,
                    crew=crew,
                    active=True,
                    created_at=self.clock(),
                )
            )
        return self.user(name)

    def set_password(self, name: str, password: str) -> None:
        if not isinstance(password, str) or len(password) < 8:
            raise Invalid("a password needs at least 8 characters")
        with self._write() as conn:
            n = conn.execute(
                update(T_USER)
                .where(T_USER.c.name == name)
                .values(password_hash=generate_password_hash(password, method=self.password_method))
            ).rowcount
        if not n:
            raise NotFound(f"no user '{name}'")

    def user(self, name: str) -> dict | None:
        with self._read() as conn:
            row = (
                conn.execute(
                    select(
                        T_USER.c.id, T_USER.c.name, T_USER.c.role, T_USER.c.crew, T_USER.c.active
                    ).where(T_USER.c.name == name)
                )
                .mappings()
                .first()
            )
        return dict(row) if row else None

    def users(self) -> list[dict]:
        with self._read() as conn:
            rows = (
                conn.execute(
                    select(
                        T_USER.c.id, T_USER.c.name, T_USER.c.role, T_USER.c.crew, T_USER.c.active
                    ).order_by(T_USER.c.name)
                )
                .mappings()
                .all()
            )
        return [dict(r) for r in rows]

    def authenticate(self, name: str, password: str) -> dict | None:
        """The user when name and password match an active account, else None."""
        if (
            not isinstance(name, str)
            or not isinstance(password, str)
            or len(name) > MAX_NAME
            or len(password) > 1000
        ):
            return None
        with self._read() as conn:
            row = (
                conn.execute(select(T_USER).where(T_USER.c.name == name.strip())).mappings().first()
            )
        if row is None or not row["active"]:
            check_password_hash(generate_password_hash("x"), password)  # same work either way
            return None
        if not check_password_hash(row["password_hash"], password):
            return None
        return {k: row[k] for k in ("id", "name", "role", "crew", "active")}

    def create_token(self, user_name: str, token_name: str = "script") -> str:
        """A new bearer token for a user; the raw token is returned once and never stored."""
        token_name = _clean(token_name, "token name", max_len=MAX_NAME, required=True)
        raw = "fo_" + secrets.token_urlsafe(32)
        with self._write() as conn:
            uid = conn.execute(select(T_USER.c.id).where(T_USER.c.name == user_name)).scalar()
            if uid is None:
                raise NotFound(f"no user '{user_name}'")
            conn.execute(
                insert(T_TOKEN).values(
                    user_id=uid,
                    name=token_name,
                    token_hash=token_hash(raw),
                    created_at=self.clock(),
                    revoked=False,
                )
            )
        return raw

    TOKEN_CACHE_S = 5.0  # a revoked token or disabled user stops working within this time

    def user_for_token(self, raw: str) -> dict | None:
        if not isinstance(raw, str) or not raw.startswith("fo_") or len(raw) > 200:
            return None
        key = token_hash(raw)
        now = time.monotonic()
        hit = self._token_cache.get(key)
        if hit is not None and now - hit[0] < self.TOKEN_CACHE_S:
            return dict(hit[1])
        user = self._user_for_token_hash(key)
        if user is not None:
            if len(self._token_cache) > 10_000:
                self._token_cache.clear()
            self._token_cache[key] = (now, user)
        return dict(user) if user else None

    def _user_for_token_hash(self, key: str) -> dict | None:
        with self._read() as conn:
            row = (
                conn.execute(
                    select(
                        T_USER.c.id, T_USER.c.name, T_USER.c.role, T_USER.c.crew, T_USER.c.active
                    )
                    .join(T_TOKEN, T_TOKEN.c.user_id == T_USER.c.id)
                    .where(
                        T_TOKEN.c.token_hash == key,
                        T_TOKEN.c.revoked.is_(False),
                        T_USER.c.active.is_(True),
                    )
                )
                .mappings()
                .first()
            )
        return dict(row) if row else None

    def revoke_tokens(self, user_name: str) -> int:
        with self._write() as conn:
            uid = conn.execute(select(T_USER.c.id).where(T_USER.c.name == user_name)).scalar()
            if uid is None:
                raise NotFound(f"no user '{user_name}'")
            n = conn.execute(
                update(T_TOKEN).where(T_TOKEN.c.user_id == uid).values(revoked=True)
            ).rowcount
        self._token_cache.clear()  # this worker forgets at once; others within TOKEN_CACHE_S
        return n

    # ------------------------------------------------------------ steps

    def _step_dict(self, row, status_of: dict[str, str] | None = None) -> dict:
        d = {
            k: row[k]
            for k in (
                "step_id",
                "seq",
                "wo_seq",
                "workorder",
                "phase",
                "kind",
                "title",
                "instruction",
                "rack",
                "location_id",
                "face",
                "u",
                "x_mm",
                "y_mm",
                "confirm",
                "expect_codes",
                "parts",
                "depends_on",
                "duration_s",
                "assignee",
                "planned_assignee",
                "checker",
                "status",
                "status_detail",
                "updated_at",
                "version",
                "path",
            )
        }
        d["id"] = d.pop("step_id")
        if status_of is not None:
            d["state"] = rules.display_status(d["status"], d["depends_on"], status_of)
            d["ready"] = rules.is_ready(d["status"], d["depends_on"], status_of)
        return d

    def _statuses(self, conn: Connection, rid: int, ids: Iterable[str]) -> dict[str, str]:
        ids = sorted(set(ids))
        out: dict[str, str] = {}
        for i in range(0, len(ids), 500):
            chunk = ids[i : i + 500]
            out.update(
                dict(
                    conn.execute(
                        select(T_STEP.c.step_id, T_STEP.c.status).where(
                            T_STEP.c.revision_id == rid, T_STEP.c.step_id.in_(chunk)
                        )
                    ).all()
                )
            )
        return out

    def step(self, step_id: str, *, crew: str | None = None) -> dict:
        """One step with ``blocking`` (its dependencies not done), its confirmations and
        problems. ``crew``: a technician's, who sees the steps they may act on only."""
        rid = self._rid()
        with self._read() as conn:
            row = conn.execute(LOCK_STEP, {"rid": rid, "sid": step_id}).mappings().first()
            if row is None:
                raise NotFound(f"no step '{step_id}' in the active plan")
            self._check_crew(conn, rid, row, crew, checks=True)
            status_of = (
                self._statuses(conn, rid, row["depends_on"])
                if row["unmet"]
                else dict.fromkeys(row["depends_on"], rules.DONE)
            )
            d = self._step_dict(row, status_of)
            d["blocking"] = sorted(
                dep for dep in row["depends_on"] if status_of.get(dep) != rules.DONE
            )
            d["confirmations"] = [
                self._conf_dict(c)
                for c in conn.execute(CONFS_OF_STEP, {"pk": row["id"]}).mappings()
            ]
            d["problems"] = [
                self._problem_dict(p, row["step_id"])
                for p in conn.execute(PROBLEMS_OF_STEP, {"pk": row["id"]}).mappings()
            ]
        return d

    def steps(
        self,
        *,
        status: str | None = None,
        assignee: str | None = None,
        phase: str | None = None,
        rack: str | None = None,
        open_only: bool = False,
        limit: int = 500,
        offset: int = 0,
    ) -> list[dict]:
        """Steps in plan order; ``open_only``: those not done yet."""
        rid = self._rid()
        q = select(*STEP_COLS).where(T_STEP.c.revision_id == rid)
        if status:
            q = q.where(T_STEP.c.status == status)
        if open_only:
            q = q.where(T_STEP.c.status != rules.DONE)
        if assignee is not None:
            q = q.where(T_STEP.c.assignee == assignee)
        if phase:
            q = q.where(T_STEP.c.phase == phase)
        if rack:
            q = q.where(T_STEP.c.rack == rack)
        q = q.order_by(T_STEP.c.seq).limit(max(1, min(limit, 5000))).offset(max(0, offset))
        with self._read() as conn:
            rows = conn.execute(q).mappings().all()
            status_of = self._statuses(conn, rid, [d for r in rows for d in r["depends_on"]])
        return [self._step_dict(r, status_of) for r in rows]

    def queue(self, assignee: str, *, limit: int = 200) -> list[dict]:
        """The assignee's open steps in their work order, each with ``ready``."""
        rid = self._rid()
        with self._read() as conn:
            rows = conn.execute(self._queue_query(rid, assignee).limit(limit)).mappings().all()
            status_of = self._statuses(conn, rid, [d for r in rows for d in r["depends_on"]])
        return [self._step_dict(r, status_of) for r in rows]

    def _queue_query(self, rid: int, assignee: str):
        """The assignee's open, blocked and failed steps and the robots' work waiting for
        their check."""
        return (
            select(*STEP_COLS)
            .where(
                T_STEP.c.revision_id == rid,
                or_(
                    and_(
                        T_STEP.c.assignee == assignee,
                        T_STEP.c.status.in_(rules.OPEN_STATUSES + (rules.BLOCKED, rules.FAILED)),
                    ),
                    _check_for(assignee),
                ),
            )
            .order_by(T_STEP.c.wo_seq, T_STEP.c.seq)
        )

    def next_step(self, assignee: str) -> dict | None:
        """The assignee's step to do now: the one in progress whose dependencies are done, else
        the first step of their queue that is ready (every step it depends on done)."""
        rid = self._rid()
        params = {"rid": rid, "who": assignee}
        with self._read() as conn:
            row = conn.execute(NEXT_STEP, params).mappings().first()
            if row is None:
                return None
        # found by the query only when every dependency is done
        return self._step_dict(row, dict.fromkeys(row["depends_on"], rules.DONE))

    def previous_point(self, assignee: str) -> tuple[int, int] | None:
        """Where the assignee stands now: the stand-off point of the step they finished last."""
        rid = self._rid()
        with self._read() as conn:
            row = conn.execute(LAST_DONE, {"rid": rid, "who": assignee}).first()
        return (row[0], row[1]) if row else None

    def where_is(self, code: str) -> list[dict]:
        """The steps that expect a code: where a scanned cable or asset belongs."""
        rid = self._rid()
        with self._read() as conn:
            rows = conn.execute(CODE_HOMES, {"rid": rid, "code": code.upper()}).mappings().all()
        return [dict(r) for r in rows]

    # ------------------------------------------------------------ confirmations

    def _lock_step(self, conn: Connection, rid: int, step_id: str, client_id: str = ""):
        """The step's row (locked on PostgreSQL) with ``unmet``: its dependencies not done;
        on PostgreSQL also ``prior_conf``: the confirmation recorded under ``client_id``."""
        if self.dialect == "postgresql":
            q, params = LOCK_STEP_PG, {"rid": rid, "sid": step_id, "cid": client_id}
        else:
            q, params = LOCK_STEP, {"rid": rid, "sid": step_id}
        row = conn.execute(q, params).mappings().first()
        if row is None:
            raise NotFound(f"no step '{step_id}' in the active plan")
        return row

    def _conf_dict(self, row, step_id: str | None = None) -> dict:
        d = {k: row[k] for k in ("id", "client_id", "actor", "how", "at", "codes", "evidence")}
        if step_id is not None:
            d["step_id"] = step_id
        return d

    def confirm(
        self,
        step_id: str,
        *,
        client_id: str,
        actor: str,
        crew: str | None = None,
        codes: list[str] | None = None,
        evidence: dict | None = None,
        fault_delay_s: float = 0.0,
    ) -> ConfirmResult:
        """Record that a step is done.

        ``crew``: when given, the step must be assigned to it (technicians). ``codes``: the raw
        scanned or typed codes. A retry with the same ``client_id`` returns the recorded
        confirmation (``duplicate=True``); a second confirmation of a done step is a Conflict.
        """
        client_id = _clean(client_id, "client_id", max_len=100, required=True)
        if not all(c.isalnum() or c in "-_.:" for c in client_id):
            raise Invalid("client_id may hold letters, digits and - _ . : only")
        codes = codes or []
        if not isinstance(codes, list) or len(codes) > 20:
            raise Invalid("codes must be a list of at most 20 scanned codes")
        try:
            scans = [rules.parse_scan(c) for c in codes]
        except rules.CodeError as exc:
            raise Invalid(str(exc)) from None
        evidence = evidence or {}
        if not isinstance(evidence, dict) or len(json.dumps(evidence, default=str)) > 8000:
            raise Invalid("evidence must be an object of at most 8000 characters of JSON")
        rev = self._active()  # one read: rid and hall from the same revision
        rid = rev["id"]
        refusal: Refused | None = None
        with self._write() as conn:
            row = self._lock_step(conn, rid, step_id, client_id)
            prior = (
                conn.execute(CONF_BY_CLIENT, {"cid": client_id}).mappings().first()
                if row.get("prior_conf", -1) is not None
                else None
            )
            if prior is not None:
                if prior["step"] != row["id"]:
                    raise Conflict(f"client_id '{client_id}' was already used for another step")
                return ConfirmResult(self._conf_dict(prior, step_id), self._step_dict(row), True)
            self._check_crew(conn, rid, row, crew, checks=True)
            if row["status"] == rules.DONE:
                c = (
                    conn.execute(
                        select(T_CONF)
                        .where(T_CONF.c.step == row["id"])
                        .order_by(T_CONF.c.id)
                        .limit(1)
                    )
                    .mappings()
                    .first()
                )
                who = f" by {c['actor']}" if c else ""
                raise Conflict(
                    f"step {step_id} is already confirmed{who}",
                    confirmation=self._conf_dict(c, step_id) if c else None,
                )
            if row["status"] == rules.BLOCKED:
                raise Conflict(
                    f"step {step_id} is blocked by an open problem; the lead has to clear it first"
                )
            if row["status"] not in rules.OPEN_STATUSES:
                raise Conflict(f"step {step_id} is {row['status']} and cannot be confirmed")
            if row["unmet"]:
                status_of = self._statuses(conn, rid, row["depends_on"])
                waiting = sorted(d for d in row["depends_on"] if status_of.get(d) != rules.DONE)
                raise Conflict(
                    f"step {step_id} waits for {len(waiting)} earlier step(s): {', '.join(waiting[:5])}",
                    waiting=waiting,
                )
            ok, why = rules.human_can_confirm(row["confirm"], row["status"])
            if not ok:
                raise Conflict(why)
            verdict = rules.check_scans(row["confirm"], row["expect_codes"], scans)
            if not verdict.ok:
                if verdict.wrong:
                    msg = (
                        "Wrong label: "
                        + " ".join(self._describe_in(conn, rid, s) for s in verdict.wrong)
                        + f" This step needs {', '.join(row['expect_codes'])}."
                    )
                    self._event(
                        conn,
                        "scan_refused",
                        hall=rev["hall"],
                        step_id=step_id,
                        actor=actor,
                        data={"codes": [s.raw for s in verdict.wrong]},
                    )
                    refusal = Refused(
                        msg, wrong=[s.code for s in verdict.wrong], expected=row["expect_codes"]
                    )
                else:
                    raise Refused(verdict.message, missing=list(verdict.missing))
            if refusal is None:
                result = self._record(
                    conn,
                    row,
                    rev,
                    step_id,
                    client_id=client_id,
                    actor=actor,
                    scans=scans,
                    evidence=evidence,
                    fault_delay_s=fault_delay_s,
                )
        if refusal is not None:  # raised after the commit, so the refused scan stays in the log
            raise refusal
        return result

    def _check_crew(
        self, conn: Connection, rid: int, row, crew: str | None, *, checks: bool = False
    ) -> None:
        """Forbidden unless ``crew`` (a technician's; None: anyone) may act on the step: its
        own steps, and with ``checks`` a robot's robot+technician step too (confirm it, report
        a problem with it): the robot has no crew, whichever technician checks its work does."""
        if crew is None or row["assignee"] == crew:
            return
        if checks and self._robot_step_for_any_technician(conn, rid, row):
            return
        raise Forbidden(
            f"step {row['step_id']} is assigned to {row['assignee'] or 'nobody'}, not to your crew ({crew or 'none'})"
        )

    def _robot_step_for_any_technician(self, conn: Connection, rid: int, row) -> bool:
        """A robot+technician step assigned to a robot is confirmed by whichever technician
        checks the robot's work (the robot has no crew)."""
        if row["confirm"] != CONFIRM_ROBOT_AND_TECH:
            return False
        return self._kind_of(conn, rid, row["assignee"]) == "robot"

    @staticmethod
    def _kind_of(conn: Connection, rid: int, assignee: str) -> str | None:
        """'robot' or 'technician' for a member of the plan's team, else None."""
        return conn.execute(
            select(T_ASSIGNEE.c.kind).where(
                T_ASSIGNEE.c.revision_id == rid, T_ASSIGNEE.c.name == assignee
            )
        ).scalar()

    def _record(
        self, conn, row, rev, step_id, *, client_id, actor, scans, evidence, fault_delay_s
    ) -> ConfirmResult:
        if fault_delay_s:
            time.sleep(fault_delay_s)  # fault injection for the crash tests (config only)
        now = self.clock()
        changed = Conflict(f"step {step_id} changed while you confirmed it; reload and try again")
        reused = Conflict(f"client_id '{client_id}' was already used for another step")
        how = rules.how_for(row["confirm"], scans)
        conf = {
            "client_id": client_id,
            "step": row["id"],
            "actor": actor,
            "how": how,
            "at": now,
            "codes": [s.raw for s in scans],
            "evidence": evidence,
        }
        version = {"b_pk": row["id"], "b_version": row["version"], "b_now": now}
        try:  # the unique client_id: this ID already confirmed another step (or is racing)
            if self.dialect == "postgresql":  # the event is inserted by the same statement
                data = {**_where(row), "how": how, "codes": conf["codes"]}
                params = {f"c_{k}": v for k, v in conf.items() if k != "step"}
                params.update(version, e_hall=rev["hall"], e_step_id=step_id, e_data=data)
                ids = conn.execute(RECORD_PG, params).first()
                if ids is None:
                    raise changed
                conf["id"] = ids.conf_id
                ev = {"at": now, "hall": rev["hall"], "kind": "step_confirmed"}
                ev.update(step_id=step_id, actor=actor, data=data)
                self._queue_event(conn, ids.event_id, ev)
            else:
                if conn.execute(MARK_DONE, version).rowcount != 1:
                    raise changed
                conf["id"] = conn.execute(INSERT_CONF, conf).inserted_primary_key[0]
                self._step_event(
                    conn, "step_confirmed", rev, row, actor, how=how, codes=conf["codes"]
                )
        except IntegrityError:  # raising rolls the whole transaction back
            raise reused from None
        conf = self._conf_dict(conf, step_id)
        step = self._step_dict(
            {**row, "status": rules.DONE, "updated_at": now, "version": row["version"] + 1}
        )
        return ConfirmResult(conf, step, False)

    def _describe_in(self, conn: Connection, rid: int, scan: rules.Scan) -> str:
        rows = conn.execute(CODE_HOMES.limit(3), {"rid": rid, "code": scan.code}).mappings().all()
        if not rows:
            return f"{scan.describe()} is not a label of this plan."
        homes = []
        for h in rows:
            where = ", ".join(
                x
                for x in (
                    f"rack {h['rack']}" if h["rack"] else "",
                    f"U{h['u']}" if h["u"] is not None else "",
                    h["face"],
                    h["location_id"],
                )
                if x
            )
            homes.append(f"{h['title']} ({where}; step {h['step_id']})")
        what = f"cable {scan.code}" if scan.end else scan.code
        return f"{scan.describe()} is {what}; it belongs to " + "; ".join(homes) + "."

    def confirmations(self, *, after: int = 0, limit: int = 1000) -> list[dict]:
        """The active plan's confirmations with an ID above ``after``, in the order they were
        recorded (the as-built record is built from them in this order)."""
        rid = self._rid()
        with self._read() as conn:
            rows = (
                conn.execute(
                    select(
                        T_CONF,
                        T_STEP.c.step_id.label("step_id"),
                        T_STEP.c.assignee.label("assignee"),
                    )
                    .join(T_STEP, T_STEP.c.id == T_CONF.c.step)
                    .where(T_STEP.c.revision_id == rid, T_CONF.c.id > after)
                    .order_by(T_CONF.c.id)
                    .limit(limit)
                )
                .mappings()
                .all()
            )
        return [{**self._conf_dict(r, r["step_id"]), "assignee": r["assignee"]} for r in rows]

    # ------------------------------------------------------------ status (StepSink) and lead actions

    def set_status(self, step_id: str, status: str, detail: dict | str | None = None) -> None:
        """The robot bridge's ``StepSink``: a robot's action state lands on its step.

        ``detail`` is the bridge's JSON-ready dict (``robot``, ``orderId``, ``actions``,
        ``error``) or text. ``done`` records a robot confirmation (once per step; done is
        final); ``blocked`` opens a problem for the lead with the robot's error;
        ``awaiting_confirmation`` waits for a technician on robot+technician steps.
        """
        if status not in STATUSES:
            raise Invalid(f"status must be one of {', '.join(STATUSES)}, not '{status}'")
        evidence = (
            detail if isinstance(detail, dict) else ({"detail": str(detail)} if detail else {})
        )
        if isinstance(detail, dict):
            text_detail = str(detail.get("error") or detail.get("robot") or "")
        else:
            text_detail = str(detail or "")
        text_detail = text_detail.replace("\x00", "")[:MAX_NOTE]
        rev = self._active()  # one read: rid and hall from the same revision
        rid = rev["id"]
        with self._write() as conn:
            row = self._lock_step(conn, rid, step_id)
            if row["status"] == rules.DONE or (
                row["status"] == status and row["status_detail"] == text_detail
            ):
                return  # done is final; a repeated or late robot report changes nothing
            now = self.clock()
            actor = row["assignee"] or "robot"
            reporter = detail.get("robot") if isinstance(detail, dict) else None
            if reporter and row["confirm"] not in rules.ROBOT_RULES:
                # handed to a person (reassign gave it a person's rule) while the robot still
                # had it in its order: the record names the robot that did it
                actor = str(reporter)[:MAX_NAME]
            self._change_step(conn, row, now, status=status, status_detail=text_detail)
            if status == rules.DONE:
                conn.execute(
                    insert(T_CONF).values(
                        client_id=f"robot:{rid}:{step_id}"[:100],
                        step=row["id"],
                        actor=actor,
                        how="robot",
                        at=now,
                        codes=[],
                        evidence=json.loads(json.dumps(evidence, default=str)),
                    )
                )
            if status == rules.BLOCKED and row["status"] != rules.BLOCKED:
                # pending once cleared: the robot's failed order has to be sent again whole
                self._open_problem(
                    conn,
                    rev,
                    row,
                    kind="other",
                    note=f"robot: {text_detail or 'action failed'}",
                    actor=actor,
                    now=now,
                    prev_status="pending",
                    event_note=text_detail,
                )
            self._step_event(
                conn,
                "step_status",
                rev,
                row,
                actor,
                status=status,
                detail=text_detail,
                previous=row["status"],
            )

    def statuses(self, step_ids: Iterable[str]) -> dict[str, str]:
        """The current status of each of these steps of the active plan (unknown IDs left
        out): the robot bridge reads the steps its robots wait for through this."""
        rid = self._rid()
        with self._read() as conn:
            return self._statuses(conn, rid, step_ids)

    def plan_steps(self, assignees: Iterable[str] | None = None) -> list:
        """The active plan's steps as ``fieldops.core.workorder.Step`` values (current assignee
        and status), in plan order; for the robot bridge."""
        from fieldops.core.workorder import step_from_dict

        rid = self._rid()
        q = (
            select(T_STEP.c.data, T_STEP.c.assignee, T_STEP.c.status)
            .where(T_STEP.c.revision_id == rid)
            .order_by(T_STEP.c.seq)
        )
        if assignees is not None:
            q = q.where(T_STEP.c.assignee.in_(sorted(set(assignees))))
        with self._read() as conn:
            rows = conn.execute(q).all()
        from dataclasses import replace

        return [
            replace(step_from_dict(data), assignee=who, status=status) for data, who, status in rows
        ]

    def start(self, step_id: str, *, actor: str, crew: str | None = None) -> dict:
        """Mark a ready step in progress (the technician opened it and is walking there)."""
        rev = self._active()  # one read: rid and hall from the same revision
        rid = rev["id"]
        with self._write() as conn:
            row = self._lock_step(conn, rid, step_id)
            self._check_crew(conn, rid, row, crew)
            if row["status"] not in ("pending", "ready"):
                return self._step_dict(row)
            now = self.clock()
            self._change_step(conn, row, now, status="in_progress")
            self._step_event(
                conn, "step_status", rev, row, actor, status="in_progress", previous=row["status"]
            )
            return self._step_dict(
                {**row, "status": "in_progress", "updated_at": now, "version": row["version"] + 1}
            )

    def report_problem(
        self, step_id: str, *, kind: str, note: str, actor: str, crew: str | None = None
    ) -> dict:
        """A technician's problem report: it blocks the step and alerts the lead."""
        if kind not in rules.PROBLEM_KINDS:
            raise Invalid(
                f"kind must be one of {', '.join(rules.PROBLEM_KINDS)}, not '{str(kind)[:40]}'"
            )
        note = _clean(note, "note", max_len=MAX_NOTE)
        if kind == "other" and not note:
            raise Invalid("say what is wrong in the note when the kind is 'other'")
        rev = self._active()  # one read: rid and hall from the same revision
        rid = rev["id"]
        with self._write() as conn:
            row = self._lock_step(conn, rid, step_id)
            self._check_crew(conn, rid, row, crew, checks=True)
            if row["status"] == rules.DONE:
                raise Conflict(
                    f"step {step_id} is already done; report a new problem to the lead directly"
                )
            now = self.clock()
            prev = (
                row["status"]
                if row["status"] != rules.BLOCKED
                else (
                    conn.execute(
                        select(T_PROBLEM.c.prev_status)
                        .where(T_PROBLEM.c.step == row["id"])
                        .order_by(T_PROBLEM.c.id)
                        .limit(1)
                    ).scalar()
                    or "pending"
                )
            )
            pid = self._open_problem(
                conn, rev, row, kind=kind, note=note, actor=actor, now=now, prev_status=prev
            )
            self._change_step(
                conn, row, now, status=rules.BLOCKED, status_detail=f"{kind}: {note}"[:MAX_NOTE]
            )
        return {
            "id": pid,
            "step_id": step_id,
            "kind": kind,
            "note": note,
            "reported_by": actor,
            "reported_at": now,
            "status": "open",
        }

    def _open_problem(
        self,
        conn: Connection,
        rev: dict,
        row,
        *,
        kind: str,
        note: str,
        actor: str,
        now: float,
        prev_status: str,
        event_note: str | None = None,
    ) -> int:
        """Record an open problem on a step (locked in this transaction) and tell the lead;
        ``prev_status`` is where the step goes back to once every problem is resolved."""
        pid = conn.execute(
            insert(T_PROBLEM).values(
                step=row["id"],
                kind=kind,
                note=note,
                reported_by=actor,
                reported_at=now,
                prev_status=prev_status,
                status="open",
                resolved_by="",
                resolution="",
            )
        ).inserted_primary_key[0]
        self._step_event(
            conn,
            "problem_reported",
            rev,
            row,
            actor,
            problem=pid,
            kind=kind,
            note=note if event_note is None else event_note,
        )
        return pid

    def _problem_dict(self, row, step_id: str) -> dict:
        d = {
            k: row[k]
            for k in (
                "id",
                "kind",
                "note",
                "reported_by",
                "reported_at",
                "status",
                "resolved_by",
                "resolved_at",
                "resolution",
            )
        }
        d["step_id"] = step_id
        return d

    def problems(self, *, status: str | None = "open") -> list[dict]:
        rid = self._rid()
        q = (
            select(
                T_PROBLEM,
                T_STEP.c.step_id.label("step_id"),
                T_STEP.c.title,
                T_STEP.c.rack,
                T_STEP.c.assignee,
                T_STEP.c.location_id,
            )
            .join(T_STEP, T_STEP.c.id == T_PROBLEM.c.step)
            .where(T_STEP.c.revision_id == rid)
            .order_by(T_PROBLEM.c.id)
        )
        if status:
            q = q.where(T_PROBLEM.c.status == status)
        with self._read() as conn:
            rows = conn.execute(q).mappings().all()
        return [
            {
                **self._problem_dict(r, r["step_id"]),
                "title": r["title"],
                "rack": r["rack"],
                "assignee": r["assignee"],
                "location_id": r["location_id"],
            }
            for r in rows
        ]

    def resolve_problem(self, problem_id: int, *, actor: str, resolution: str = "") -> dict:
        """Clear a blocker; the step goes back to where it was once no problem is open."""
        resolution = _clean(resolution, "resolution", max_len=MAX_NOTE)
        rev = self._active()  # one read: rid and hall from the same revision
        rid = rev["id"]
        with self._write() as conn:
            p = (
                conn.execute(
                    select(T_PROBLEM, T_STEP.c.step_id)
                    .join(T_STEP, T_STEP.c.id == T_PROBLEM.c.step)
                    .where(T_PROBLEM.c.id == problem_id, T_STEP.c.revision_id == rid)
                )
                .mappings()
                .first()
            )
            if p is None:
                raise NotFound(f"no problem #{problem_id}")
            if p["status"] != "open":
                raise Conflict(f"problem #{problem_id} is already resolved")
            row = self._lock_step(conn, rid, p["step_id"])
            now = self.clock()
            conn.execute(
                update(T_PROBLEM)
                .where(T_PROBLEM.c.id == problem_id)
                .values(
                    status="resolved", resolved_by=actor, resolved_at=now, resolution=resolution
                )
            )
            still_open = conn.execute(
                select(func.count())
                .select_from(T_PROBLEM)
                .where(T_PROBLEM.c.step == row["id"], T_PROBLEM.c.status == "open")
            ).scalar()
            new_status = row["status"]
            if not still_open and row["status"] == rules.BLOCKED:
                new_status = (
                    p["prev_status"] if p["prev_status"] in rules.OPEN_STATUSES else "pending"
                )
                self._change_step(conn, row, now, status=new_status, status_detail="")
            self._step_event(
                conn,
                "problem_resolved",
                rev,
                row,
                actor,
                problem=problem_id,
                resolution=resolution,
                status=new_status,
            )
        return {
            "id": problem_id,
            "step_id": p["step_id"],
            "status": "resolved",
            "step_status": new_status,
        }

    def reassign(self, step_id: str, assignee: str, *, actor: str) -> dict:
        assignee = _clean(assignee, "assignee", max_len=MAX_NAME, required=True)
        rev = self._active()  # one read: rid and hall from the same revision
        rid = rev["id"]
        with self._write() as conn:
            kind = self._kind_of(conn, rid, assignee)
            if kind is None:
                raise Invalid(f"'{assignee}' is not a member of this plan's team")
            row = self._lock_step(conn, rid, step_id)
            if row["status"] == rules.DONE:
                raise Conflict(f"step {step_id} is already done")
            if row["assignee"] == assignee:
                return self._step_dict(row)
            confirm = self._rule_for(conn, row, kind)
            # Keep the new assignee's queue in plan order: the step slots in by its global order.
            now = self.clock()
            status = "pending" if row["status"] == "in_progress" else row["status"]
            self._change_step(
                conn, row, now, assignee=assignee, wo_seq=row["seq"], status=status, confirm=confirm
            )
            data = {"from": row["assignee"], "to": assignee, "rack": row["rack"]}
            if confirm != row["confirm"]:
                data["confirm"] = confirm
            self._event(
                conn, "step_reassigned", hall=rev["hall"], step_id=step_id, actor=actor, data=data
            )
            return self._step_dict(
                {
                    **row,
                    "assignee": assignee,
                    "wo_seq": row["seq"],
                    "status": status,
                    "confirm": confirm,
                    "updated_at": now,
                    "version": row["version"] + 1,
                }
            )

    @staticmethod
    def _rule_for(conn: Connection, row, kind: str) -> str:
        """The step's confirmation rule once ``kind`` (robot or technician) does it: a robot's
        step handed to a technician is confirmed by a technician (no robot will report it
        finished); handed back to a robot, it gets its planned rule again."""
        if kind != "robot" and row["confirm"] in rules.ROBOT_RULES:
            return rules.rule_for_people(row["kind"], row["expect_codes"])
        if kind == "robot" and row["confirm"] not in rules.ROBOT_RULES:
            data = conn.execute(select(T_STEP.c.data).where(T_STEP.c.id == row["id"])).scalar()
            planned = (data or {}).get("confirm")
            if planned in rules.ROBOT_RULES:
                return planned
        return row["confirm"]

    # ------------------------------------------------------------ progress

    def progress(self) -> dict:
        """Counts by phase and state, by rack, by assignee (with current step), and the ETA."""
        rev = self.active_revision()
        if rev is None:
            return {
                "total": 0,
                "done": 0,
                "phases": [],
                "racks": [],
                "assignees": [],
                "eta": rules.estimate_remaining_s([], []),
            }
        rid = rev["id"]
        with self._read() as conn:
            rows = (
                conn.execute(
                    select(
                        T_STEP.c.step_id,
                        T_STEP.c.phase,
                        T_STEP.c.rack,
                        T_STEP.c.assignee,
                        T_STEP.c.status,
                        T_STEP.c.depends_on,
                        T_STEP.c.duration_s,
                        T_STEP.c.title,
                        T_STEP.c.wo_seq,
                        T_STEP.c.seq,
                        T_STEP.c.checker,
                        T_STEP.c.confirm,
                    )
                    .where(T_STEP.c.revision_id == rid)
                    .order_by(T_STEP.c.seq)
                )
                .mappings()
                .all()
            )
            confs = (
                conn.execute(
                    select(T_STEP.c.step_id, T_STEP.c.assignee, T_CONF.c.at)
                    .join(T_STEP, T_STEP.c.id == T_CONF.c.step)
                    .where(T_STEP.c.revision_id == rid)
                )
                .mappings()
                .all()
            )
            team = (
                conn.execute(
                    select(T_ASSIGNEE.c.name, T_ASSIGNEE.c.kind, T_ASSIGNEE.c.profile)
                    .where(T_ASSIGNEE.c.revision_id == rid)
                    .order_by(T_ASSIGNEE.c.name)
                )
                .mappings()
                .all()
            )
        status_of = {r["step_id"]: r["status"] for r in rows}
        phases: dict[str, dict[str, int]] = {}
        racks: dict[str, dict[str, int]] = {}

        def person(name: str, kind: str = "", profile: str = "") -> dict:
            return {
                "name": name,
                "kind": kind,
                "profile": profile,
                "done": 0,
                "total": 0,
                "current": None,
                "next": None,
                "checks": 0,
            }

        people = {t["name"]: person(t["name"], t["kind"], t["profile"]) for t in team}
        first_check: dict[str, dict] = {}  # a robot's work waiting for a technician's check
        for r in rows:
            is_check = r["status"] == rules.AWAITING and r["confirm"] == CONFIRM_ROBOT_AND_TECH
            if is_check and r["checker"] in people:
                people[r["checker"]]["checks"] += 1
                first_check.setdefault(
                    r["checker"], {"id": r["step_id"], "title": r["title"], "status": "check"}
                )
        for r in sorted(rows, key=lambda r: (r["wo_seq"], r["seq"])):
            state = rules.display_status(r["status"], r["depends_on"], status_of)
            phases.setdefault(r["phase"], {}).setdefault(state, 0)
            phases[r["phase"]][state] += 1
            if r["rack"]:
                racks.setdefault(r["rack"], {}).setdefault(state, 0)
                racks[r["rack"]][state] += 1
            who = r["assignee"] or "(unassigned)"
            p = people.get(who) or people.setdefault(who, person(who))
            p["total"] += 1
            p["done"] += r["status"] == rules.DONE
            if r["status"] in ("in_progress", rules.AWAITING) and p["current"] is None:
                p["current"] = {"id": r["step_id"], "title": r["title"], "status": r["status"]}
            if state == "ready" and p["next"] is None:
                p["next"] = {"id": r["step_id"], "title": r["title"], "status": state}
        for who, check in first_check.items():  # before their own ready steps, as next_step
            people[who]["next"] = check
        order = {p: i for i, p in enumerate(PHASES)}
        eta = rules.estimate_remaining_s(
            [
                {
                    "step_id": r["step_id"],
                    "assignee": r["assignee"],
                    "duration_s": r["duration_s"],
                    "status": r["status"],
                }
                for r in rows
            ],
            [{"step_id": c["step_id"], "assignee": c["assignee"], "at": c["at"]} for c in confs],
        )
        return {
            "hall": rev["hall"],
            "design": rev["design"],
            "revision": rev["revision"],
            "makespan_s": rev["makespan_s"],
            "total": len(rows),
            "done": sum(1 for r in rows if r["status"] == rules.DONE),
            "phases": [
                {"phase": ph, "counts": dict(sorted(c.items())), "total": sum(c.values())}
                for ph, c in sorted(phases.items(), key=lambda kv: order.get(kv[0], 99))
            ],
            "racks": [
                {
                    "rack": rk,
                    "counts": dict(sorted(c.items())),
                    "total": sum(c.values()),
                    "state": rack_state(c),
                }
                for rk, c in sorted(racks.items())
            ],
            "assignees": [people[k] for k in sorted(people)],
            "eta": eta,
        }

    def floor(self) -> dict:
        rev = self.active_revision()
        return dict(rev["floor"] or {}) if rev else {}

    # ------------------------------------------------------------ events

    def events_after(
        self, after_id: int = 0, *, limit: int = 200, hall: str | None = None
    ) -> list[dict]:
        q = (
            select(T_EVENT)
            .where(T_EVENT.c.id > int(after_id))
            .order_by(T_EVENT.c.id)
            .limit(max(1, min(limit, 1000)))
        )
        if hall:
            q = q.where(T_EVENT.c.hall == hall)
        with self._read() as conn:
            return [dict(r) for r in conn.execute(q).mappings().all()]

    def last_event_id(self) -> int:
        with self._read() as conn:
            return int(conn.execute(select(func.max(T_EVENT.c.id))).scalar() or 0)

    def counts(self) -> dict:
        """Row counts, for tests and health checks."""
        with self._read() as conn:
            return {
                t.name: conn.execute(select(func.count()).select_from(t)).scalar()
                for t in (T_STEP, T_CONF, T_PROBLEM, T_EVENT, T_USER)
            }


def rack_state(counts: dict[str, int]) -> str:
    """One colour per rack: blocked > failed > in progress > ready > pending > done."""
    for s in ("blocked", "failed", "in_progress", "awaiting_confirmation"):
        if counts.get(s):
            return s
    total = sum(counts.values())
    if counts.get("done", 0) == total:
        return "done"
    if counts.get("done"):
        return "in_progress"
    return "ready" if counts.get("ready") else "pending"
