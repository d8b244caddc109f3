"""The store's tables and its SQL, built once: the tablet's hot statements (next step, lock,
confirm) cost more to build than to run on SQLite, so they are made here with bound
parameters and shared by the store's modules. Parameterised SQL only."""

from __future__ import annotations

import hashlib

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

from fieldops.adapters.store.models import (
    ApiTokenRow,
    AssigneeRow,
    ConfirmationRow,
    DesignRow,
    EventRow,
    ProblemRow,
    RevisionRow,
    SessionRow,
    StepCodeRow,
    StepDepRow,
    StepRow,
    UserRow,
    WorkOrderRow,
)
from fieldops.core import floorrules as rules
from fieldops.core.errors import Invalid
from fieldops.core.workorder import CONFIRM_ROBOT_AND_TECH

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
T_SESSION = SessionRow.__table__
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
    .order_by(T_STEP.c.check_seq, T_STEP.c.seq)
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
            for k in (
                "step_id",
                "title",
                "rack",
                "location_id",
                "face",
                "u",
                "assignee",
                "status",
                "cable",
            )
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


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8")).hexdigest()


BLANKS = " \t\r\n"  # what _clean drops around text (the API's Name pattern says the same)


def _clean(text, field: str, *, max_len: int, required: bool = False) -> str:
    """Text as sent, at most ``max_len`` characters, without NUL; blanks around it dropped
    (required: something must remain)."""
    if text is None:
        text = ""
    if not isinstance(text, str):
        raise Invalid(f"{field} must be text")
    if len(text) > max_len:
        raise Invalid(f"{field} is {len(text)} characters long; at most {max_len} are allowed")
    text = text.strip(BLANKS)
    if "\x00" in text:
        raise Invalid(f"{field} contains a NUL character")
    if required and not text:
        raise Invalid(f"{field} is required")
    return text
