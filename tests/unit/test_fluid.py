"""Loop test readings (fieldops.core.fluid): what passes, what fails, what is missing."""

from __future__ import annotations

import pytest

from fieldops.core.fluid import judge_readings, leak_readings, pressure_readings
from fieldops.core.model import FluidRules
from fieldops.core.vda5050.orders import VdaError, step_action_types
from fieldops.core.workorder import Location, Step

RULES = FluidRules(test_kpa=700, hold_min=30, max_drop_kpa=10, max_leaks=0)


def test_a_held_pressure_passes():
    spec = pressure_readings(RULES)
    assert judge_readings(spec, {"start_kpa": 705, "end_kpa": 698, "hold_min": 30}) == ([], [])


def test_a_pressure_drop_over_the_limit_fails_naming_the_drop():
    spec = pressure_readings(RULES)
    missing, failed = judge_readings(spec, {"start_kpa": 705, "end_kpa": 690, "hold_min": 30})
    assert missing == [] and failed == ["pressure drop over the hold 15 kPa is over 10 kPa"]


def test_under_pressure_or_a_short_hold_fails():
    spec = pressure_readings(RULES)
    _, failed = judge_readings(spec, {"start_kpa": 500, "end_kpa": 500, "hold_min": 10})
    assert failed == [
        "Pressure at the start of the hold 500 kPa is under 700 kPa",
        "Minutes held 10 min is under 30 min",
    ]


def test_missing_or_non_numeric_readings_are_missing_not_passed():
    spec = pressure_readings(RULES)
    missing, failed = judge_readings(spec, {"start_kpa": "seven hundred", "hold_min": True})
    assert len(missing) == 3 and failed == []
    assert judge_readings(spec, {"start_kpa": "701", "end_kpa": " 700 ", "hold_min": "30"}) == (
        [],
        [],
    )


def test_a_wet_joint_or_unchecked_joints_fail_the_leak_check():
    spec = leak_readings(RULES, joints=4)
    assert judge_readings(spec, {"joints_checked": 4, "leaks_found": 0}) == ([], [])
    _, failed = judge_readings(spec, {"joints_checked": 3, "leaks_found": 1})
    assert failed == [
        "Joints checked (dry tissue at each) 3 count is under 4 count",
        "Wet joints found 1 count is over 0 count",
    ]


def test_a_hose_step_maps_to_robot_actions_and_the_loop_tests_do_not():
    """Robots get fluid steps only when a profile declares them: a hose robot connects both
    quick disconnects; the tests need a technician's readings, so no robot action exists."""
    hose = Step("hose:C-1", "cooling", "connect_hose", "t", "i", Location(rack="A01"))
    assert step_action_types(hose) == ("connectHoseEnd", "connectHoseEnd", "verifyLabel")
    test = Step("pressure:A01", "cooling", "pressure_test", "t", "i", Location(rack="A01"))
    with pytest.raises(VdaError):
        step_action_types(test)
