"""Precedence, for the dispatcher: a robot step is released (put in an order's base) only when
every step it depends on is done; the stops released ahead of each robot; when nothing can
progress any more."""

from __future__ import annotations

from fieldops.core.dispatcher.robot import Robot
from fieldops.core.robot_work import BAD, FINAL


class Precedence:
    """The dispatcher's precedence half (a mixin of :class:`Dispatcher`)."""

    def waiting_for(self) -> list[str]:
        """The steps (of other assignees, or awaiting a technician) robots wait for now."""
        return sorted(d for d in self._waits if d not in self._met)

    def stalled(self) -> bool:
        """True when some step is not final and none can progress: every unfinished step is
        out of its robot's released base and depends (directly or through other steps of this
        dispatcher) on a step that is blocked or failed. Nothing but a person can unblock it."""
        dead: dict[str, bool] = {}

        def is_dead(root: str) -> bool:
            # iterative depth-first: dependency chains can be thousands of steps long
            visiting: set[str] = set()
            stack = [(root, False)]
            while stack:
                cur, expanded = stack.pop()
                if cur in dead:
                    continue
                r = self.owner[cur]
                if r.status[cur] in FINAL:
                    dead[cur] = r.status[cur] in BAD
                    continue
                deps = [d for d in r.in_sequence[cur] + r.needs[cur] if d in self.owner]
                if expanded:
                    visiting.discard(cur)
                    dead[cur] = any(dead.get(d, False) for d in deps)  # a cycle: not dead
                    continue
                if cur in visiting:
                    continue
                visiting.add(cur)
                stack.append((cur, True))
                stack.extend((d, False) for d in deps if d not in dead and d not in visiting)
            return dead[root]

        pending = [
            (r, sid) for r in self.robots.values() for sid in r.order if r.status[sid] not in FINAL
        ]
        if not pending:
            return False
        return all(not self._released(r, sid) and is_dead(sid) for r, sid in pending)

    def _released(self, r: Robot, step_id: str) -> bool:
        if r.route is None or r.order_id is None:
            return False
        stops = r.route.stops
        return any(
            step_id in stops[i].step_ids
            for i in range(r.seg_first, min(r.base_end, len(stops) - 1) + 1)
        )

    def wants_status(self) -> list[str]:
        """Steps robots wait for whose status the shell should read from its sink: other
        assignees' steps, and this dispatcher's own once final here (a technician may have
        confirmed one awaiting confirmation, the lead resolved a problem)."""
        return sorted(
            d
            for d in self._waits
            if d not in self._met and (d not in self.owner or self.owner[d].status[d] in FINAL)
        )

    def statuses_read(self, got: dict[str, str], now: float) -> None:
        """The sink's answer to :meth:`wants_status`: release what became possible."""
        self._now = now
        for d, status in got.items():
            if status == "done" and d in self._waits:
                self._mark_met(d, now)

    def _releasable(self, r: Robot, step_id: str) -> bool:
        """Every dependency of the step is met: done (or assumed done), or an earlier step of
        this robot that runs before it in sequence (and has not failed)."""
        if step_id in r.withdrawn:
            return True  # its actions are left out: nothing for the robot to wait for
        for d in r.in_sequence[step_id]:
            if r.status[d] in BAD:
                return False
        ok = True
        # a withdrawn earlier step of this robot is done by someone else: wait for it as for
        # any other assignee's step
        withdrawn = tuple(d for d in r.in_sequence[step_id] if d in r.withdrawn)
        for d in r.needs[step_id] + withdrawn:
            if d not in self._met:
                waiting = self._waits.get(d)
                if waiting is None:
                    waiting = self._waits[d] = set()
                if r.key not in waiting:
                    waiting.add(r.key)
                    self._log("info", f"robot {r.serial}: step {step_id} waits for step {d}")
                ok = False
        return ok

    def _gate(self, r: Robot, first: int, upto: int) -> int:
        """The last stop in ``first..upto`` up to which every stop after ``first`` holds only
        releasable steps (``first`` itself is released already, or where the robot stands)."""
        assert r.route is not None
        k = first
        while k < upto:
            oks = [self._releasable(r, s) for s in r.route.stops[k + 1].step_ids]
            if not all(oks):
                break
            k += 1
        return k

    def _mark_met(self, step_id: str, now: float) -> None:
        if step_id in self._met:
            return
        self._met.add(step_id)
        for key in sorted(self._waits.pop(step_id, ())):
            self._advance(self.robots[key], now)

    def _advance(self, r: Robot, now: float) -> None:
        """Release the next stops (up to ``window`` ahead of the robot, as far as their
        dependencies allow), or start the next orderId when this one is complete. Works from
        the robot's last state, so it also runs when a dependency becomes done."""
        if r.route is None or r.order_id is None or r.here is None or r.rejection is not None:
            return  # no order, or the robot has not shown it holds the last message yet
        last = len(r.route.stops) - 1
        here = r.here
        if here == r.base_end == r.seg_end < last and r.idle:
            # this orderId is complete: the next stops go out as a new order from here
            self._start_segment(r, here, self.window, now)
            return
        want = min(r.seg_end, here + self.window)
        if want > r.base_end:
            want = self._gate(r, r.base_end, want)
        if want > r.base_end:
            first = r.base_end
            r.base_end = want
            r.update_id += 1
            self._send_order(r, first, now)
