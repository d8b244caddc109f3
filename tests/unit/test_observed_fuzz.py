"""Fuzz the observation readers: every recorded sample (lldpctl JSON, ibnetdiscover, iblinkinfo,
PDU and console reports), cut, spliced and scribbled over, is either read or refused with
DesignError naming the file; never another exception. Derandomised, so runs repeat."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fieldops.adapters.designfile import load_design
from fieldops.adapters.observed import load_ib_map, load_observations
from fieldops.core.problems import DesignError
from tests.samples import GPU_HALL, LAB_HALL

DATA = Path(__file__).resolve().parents[1] / "data" / "observed"
FUZZ = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    database=None,
)
LLDP = json.dumps(
    {
        "lldp": {
            "interface": [
                {
                    "swp1": {
                        "via": "LLDP",
                        "chassis": {
                            "srv-01": {"id": {"type": "mac", "value": "0c:42:a1:00:00:01"}}
                        },
                        "port": {"id": {"type": "ifname", "value": "eno1"}, "descr": "eno1"},
                    }
                }
            ]
        }
    },
    indent=1,
)
TINY_IB = "tiny-ib"  # tests/unit/test_observed_infiniband.py's hall, with its InfiniBand map
SAMPLES = {
    "ibnetdiscover": (TINY_IB, (DATA / "ib-tiny.ibnetdiscover.txt").read_text()),
    "iblinkinfo": (TINY_IB, (DATA / "ib-tiny.iblinkinfo-l.txt").read_text()),
    "pdu": (LAB_HALL, (DATA / "pdu-a01-a.csv").read_text()),
    "console": (GPU_HALL, (DATA / "console-con-a05.csv").read_text()),
    "lldp": (LAB_HALL, LLDP),
}
NOISE = st.text(
    alphabet=st.sampled_from(list('[]()"#:=,\n\t 0123456789abcdefSHCa-_.x{}') + ["\u202e", "é"]),
    max_size=40,
)


@pytest.fixture(scope="module")
def designs(tmp_path_factory):
    from tests.samples import SWITCH_TYPE, write_design
    from tests.unit.test_observed_infiniband import (
        DEVICES,
        ETH_CABLES,
        GPU_NODE,
        IB_CABLES,
        IB_MAP,
        IB_SWITCH,
    )

    root = tmp_path_factory.mktemp("ib")
    cables = [{"a": a, "b": b, "media": "smf-mpo8-apc"} for a, b in IB_CABLES]
    cables += [{"a": a, "b": b, "media": "cat6a"} for a, b in ETH_CABLES]
    hall = write_design(
        root / "h", devices=DEVICES, cables=cables, device_types=[SWITCH_TYPE, IB_SWITCH, GPU_NODE]
    )
    (root / "map.yaml").write_text(IB_MAP)
    return {
        LAB_HALL: (load_design(LAB_HALL).design, None),
        GPU_HALL: (load_design(GPU_HALL).design, None),
        TINY_IB: (load_design(hall).design, load_ib_map(root / "map.yaml")),
    }


@pytest.mark.parametrize("kind", sorted(SAMPLES))
@FUZZ
@given(data=st.data())
def test_mangled_samples_are_read_or_refused_cleanly(designs, tmp_path, kind, data):
    hall, text = SAMPLES[kind]
    at = data.draw(st.integers(0, len(text)), label="at")
    cut = data.draw(st.integers(0, 60), label="cut")
    noise = data.draw(NOISE, label="noise")
    mangled = text[:at] + noise + text[at + cut :]
    name = (
        "leaf-a.json"
        if kind == "lldp"
        else f"{kind}.{'csv' if kind in ('pdu', 'console') else 'txt'}"
    )
    path = tmp_path / name
    path.write_text(mangled, encoding="utf-8")
    design, ib_map = designs[hall]
    try:
        load_observations([str(path)], design, ib_map=ib_map)
    except DesignError as exc:
        assert exc.problems and all(p.file == str(path) for p in exc.problems)
