"""What each rack carries: the declared draw and weight of its devices, summed once. Pure.

Draw counts powered devices that do not pass power on (PDUs, tap-off boxes and power shelves
carry the load behind them, not their own); weight counts every device. Devices whose type
declares no draw (a powered, U-mounted one) or no weight are listed, so a check can say its
sum is partial. Used by the rack budgets, the A/B feed check and the floor-load check.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from fieldops.core.model import Design, DeviceType


def passes_power_on(dt: DeviceType) -> bool:
    """PDUs, tap-off boxes and power shelves: their draw is the load behind them, not theirs."""
    return any(p.kind == "power-outlet" for p in dt.ports)


@dataclass
class RackLoad:
    watts: float = 0.0
    kg: float = 0.0
    no_draw: list[str] = field(default_factory=list)
    no_weight: list[str] = field(default_factory=list)


def rack_loads(design: Design) -> dict[str, RackLoad]:
    """Per rack name, what its devices draw and weigh (devices of unknown type are left out)."""
    out: dict[str, RackLoad] = {}
    types = design.device_types
    for dev in design.devices:
        dt = types.get(dev.device_type)
        if dt is None:
            continue
        load = out.get(dev.rack)
        if load is None:
            load = out[dev.rack] = RackLoad()
        if dt.is_powered and not passes_power_on(dt):  # passive gear draws nothing
            draw = dt.max_draw_w
            if draw is not None:
                load.watts += draw
            elif dt.u_height > 0:
                load.no_draw.append(dev.name)
        if dt.weight_kg is None:
            load.no_weight.append(dev.name)
        else:
            load.kg += dt.weight_kg
    return out
