from fieldops import services


def test_tiny_design_validates(tiny_design):
    report = services.validate_design(tiny_design)
    assert report.ok, [str(p) for p in report.problems]
    assert report.summary == {"racks": 3, "devices": 3, "cables": 2}


def test_lab_hall_sample_validates():
    from tests.samples import LAB_HALL

    report = services.validate_design(LAB_HALL)
    assert report.ok, [str(p) for p in report.problems if p.severity == "error"]
    assert report.summary["racks"] == 12 and report.summary["cables"] >= 100
