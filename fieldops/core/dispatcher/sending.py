"""What the dispatcher sends: new orders (prepared ahead), order segments, updates, resends,
state requests; which steps a robot cannot be sent."""

from __future__ import annotations

import math

from fieldops.core import vda5050 as v
from fieldops.core.dispatcher.effects import Publish
from fieldops.core.dispatcher.robot import Robot
from fieldops.core.robot_work import FINAL

_FINAL_ACTIONS = v.FINAL_ACTION_STATUSES


class Sending:
    """The dispatcher's sending half (a mixin of :class:`Dispatcher`)."""

    def _header(self, r: Robot, name: str, now: float) -> v.Header:
        return v.Header(r.ids.next(name), v.iso_timestamp(now), r.manufacturer, r.serial, r.version)

    def _publish(self, r: Robot, name: str, payload: bytes) -> None:
        self._out.append(
            Publish(
                v.topic(r.manufacturer, r.serial, name),
                payload,
                v.TOPIC_QOS[name],
                v.TOPIC_RETAIN[name],
                r.serial,
                name,
            )
        )

    def _state_request(self, r: Robot, now: float) -> None:
        msg = v.build_instant_actions(
            self._header(r, "instantActions", now),
            [v.state_request(f"state-{r.ids.next('stateRequest')}")],
        )
        self._publish(r, "instantActions", v.encode(msg))

    def _declared(self, r: Robot) -> frozenset[str]:
        return v.declared_action_types(r.profile.actions, r.factsheet)

    def _refuse(self, r: Robot) -> None:
        pending = [r.steps[s] for s in r.order if r.status[s] not in FINAL]
        _ok, refused = v.split_declared(pending, self._declared(r), hold_for_technician=self.hold)
        for step, reason in refused:
            self._set(r, step.id, "blocked", {"error": reason})

    def _walk_for(self, r: Robot) -> v.Walk | None:
        if self.walks is not None:
            width = r.profile.width_mm
            return lambda a, b: self.walks.leg(width, a, b)
        return self.walk

    def prepare(self) -> None:
        """Build every robot's first order ahead: its route (with the walking legs between
        its stops), the action objects and the JSON of the nodes the order will carry. When
        the robot reports in, only the leg from where it stands is added and the message
        stamped (orders go out at the speed of the broker)."""
        for r in self.robots.values():
            if r.route is not None or r.prepared_route is not None:
                continue
            remaining = [r.steps[sid] for sid in r.order if r.status[sid] not in FINAL]
            if not remaining:
                continue
            try:
                route = v.build_route(
                    remaining,
                    start=v.Pose(f"{r.serial}-start", 0, 0),
                    declared=self._declared(r),
                    walk=self._walk_for(r),
                    hold_for_technician=self.hold,
                    split_before=r.split_before,
                )
                seg_end = route.segment_end(0, self.order_actions)
                enc = v.encode_order(
                    route,
                    v.Header(0, "", r.manufacturer, r.serial, r.version),
                    order_id="",
                    map_id=self.map_id,
                    base_end=min(seg_end, self.window),
                    horizon_end=seg_end,
                    max_stops=self.order_stops,
                    max_bytes=self.order_bytes,
                )
            except v.VdaError:
                continue  # built (and refused) the usual way when the robot reports in
            r.prepared_route = (tuple(s.id for s in remaining), route)
            r.prepared_order = (route, seg_end, enc)

    def _prepared_route(
        self, r: Robot, remaining: list, start: v.Pose | None, done: set[str]
    ) -> v.Route | None:
        """The route :meth:`prepare` built, from where the robot stands now, when it still
        fits (same steps, nothing reported done, a leg to the first stop)."""
        hit, r.prepared_route = r.prepared_route, None
        if hit is None or start is None or done or hit[0] != tuple(s.id for s in remaining):
            return None
        route = hit[1]
        if len(route.stops) < 2:
            return None
        path: tuple = ()
        walk = self._walk_for(r)
        if walk is not None:
            first = route.stops[1].pose
            pts = walk((start.x_mm, start.y_mm), (first.x_mm, first.y_mm))
            if pts is None:
                return None  # built the usual way: it says why
            path = tuple((int(round(p[0])), int(round(p[1]))) for p in pts)
        stops = (v.Stop(start), route.stops[1].with_path(path), *route.stops[2:])
        out = v.Route(stops, route.step_actions, route.step_confirm, route.refused)
        if r.prepared_order is not None and r.prepared_order[0] is route:
            r.prepared_order = (out, *r.prepared_order[1:])
        return out

    def _send_new_order(self, r: Robot, s: v.RobotState, now: float) -> None:
        remaining = [r.steps[sid] for sid in r.order if r.status[sid] not in FINAL]
        if not remaining:
            r.order_id, r.route = None, None
            return
        start = None
        if s.position is not None:
            x, y, theta, _map = s.position
            start = v.Pose(
                s.last_node_id or f"{r.serial}-start",
                round(x * 1000),
                round(y * 1000),
                round(math.degrees(theta), 3),
            )
        done = {a for a, st in r.ledger.items() if st in _FINAL_ACTIONS}
        try:
            route = self._prepared_route(r, remaining, start, done) or v.build_route(
                remaining,
                start=start,
                declared=self._declared(r),
                walk=self._walk_for(r),
                hold_for_technician=self.hold,
                split_before=r.split_before,
                done_actions=done,
            )
        except v.VdaError as exc:
            for step in remaining:
                self._set(r, step.id, "blocked", {"error": str(exc)})
            return
        for sid, reason in route.refused.items():
            self._set(r, sid, "blocked", {"error": reason})
        if not any(stop.step_ids for stop in route.stops):
            r.order_id, r.route = None, None
            return
        r.route = route
        if start is None and not all([self._releasable(r, sid) for sid in route.stops[0].step_ids]):
            # no stand-still node to send: the first stop carries work that must wait
            r.order_id = None
            return
        self._start_segment(r, 0, self.window if start is not None else self.window - 1, now)

    def _start_segment(self, r: Robot, first: int, window: int, now: float) -> None:
        """A new orderId from stop ``first`` (where the robot stands, or the first stop)."""
        assert r.route is not None
        r.orders_sent += 1
        r.order_id = f"{self.order_prefix}-{r.serial}-{r.orders_sent}"
        r.update_id = 0
        r.accepted = False
        r.seg_first = first
        ahead, r.prepared_order = r.prepared_order, None
        if ahead is not None and (ahead[0] is not r.route or first != 0):
            ahead = None
        r.seg_end = ahead[1] if ahead else r.route.segment_end(first, self.order_actions)
        r.base_end = self._gate(r, first, min(r.seg_end, first + window))
        r.held_end = first
        r.here = None
        if ahead and ahead[2].base_end == r.base_end and not r.withdrawn:
            header = self._header(r, "order", now)
            enc = ahead[2].from_start(
                r.route, header, order_id=r.order_id, map_id=self.map_id, max_bytes=self.order_bytes
            )
            if enc is not None:
                self._sent(r, enc, header, first, now)
                return
        self._send_order(r, first, now)

    def _send_order(self, r: Robot, first: int, now: float) -> None:
        assert r.route is not None and r.order_id is not None
        header = self._header(r, "order", now)
        try:
            enc = v.encode_order(
                r.route,
                header,
                order_id=r.order_id,
                map_id=self.map_id,
                order_update_id=r.update_id,
                first=first,
                base_end=r.base_end,
                horizon_end=r.seg_end,
                max_stops=self.order_stops,
                max_bytes=self.order_bytes,
                skip_steps=r.withdrawn,
            )
        except v.VdaError as exc:  # one stop's work does not fit the order budget
            for sid in r.order:
                if r.status[sid] not in FINAL:
                    self._set(r, sid, "blocked", {"error": str(exc)})
            return
        self._sent(r, enc, header, first, now)

    def _sent(
        self, r: Robot, enc: v.EncodedOrder, header: v.Header, first: int, now: float
    ) -> None:
        r.base_end = enc.base_end
        r.here = None  # until a state shows the robot holds this message
        r.last_prepared = enc.prepared
        r.last_stamp = (header.header_id, header.timestamp)
        r.sent_at = now
        self._publish(r, "order", enc.payload(header))
        self._log(
            "info",
            f"robot {r.serial}: order {r.order_id} update {r.update_id}, stops {first}..{r.base_end} "
            f"released, {enc.nodes} in the message",
        )

    def _resend(self, r: Robot, now: float) -> None:
        """The last order or update again, as it was (same orderId and orderUpdateId: a robot
        that has it already ignores it), with a fresh header."""
        assert r.last_prepared is not None
        header = self._header(r, "order", now)
        r.sent_at = now
        self._publish(r, "order", r.last_prepared.stamp(header.header_id, header.timestamp))
