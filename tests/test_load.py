"""The bounded load test in its short form (10 clients for 6 s, demo territory), and its checks.

The full form (``python -m benchmarks.load_test``: 100 clients for 30 s) prints the figures;
here the same code runs briefly: no request may fail, the zones served switch from the first
version to the second during the run, and the checks that detect partial data do detect it.
"""

from __future__ import annotations

from pathlib import Path

from benchmarks.load_test import Territory, _items_check, _zone_check, run_load


def _territory() -> Territory:
    return Territory(
        zone_counts=(60, 54),
        kept_ids=["Z1"],
        dropped_ids=["Z2"],
        here_points=[],
        bboxes=[],
        zones_v2=Path("zones-v2.gpkg"),
    )


def _page(count: int, names: list[str]) -> dict[str, object]:
    features = [{"properties": {"name": name}} for name in names]
    return {"numberMatched": count, "numberReturned": len(features), "features": features}


def test_the_checks_detect_partial_data() -> None:
    territory = _territory()
    items = _items_check(territory, bbox=False)
    assert items(200, _page(60, ["Zone A", "Zone B"])) is None
    assert items(200, _page(54, ["v2 Zone A"])) is None
    assert items(200, _page(57, ["Zone A"])) is not None
    assert items(200, _page(54, ["Zone A", "v2 Zone B"])) is not None
    assert items(200, _page(60, ["v2 Zone A"])) is not None
    assert items(503, None) is not None
    zone = _zone_check(territory, "Z1")
    run = {"thresholds": {"served_thd30_share": 0.8, "unserved_bhd8_share": 0.3}}
    body = {
        "status_basis": "premises",
        "metrics": {"share_thd30": 0.85, "share_bhd8": 0.9},
        "run": run,
        "status": "served",
    }
    assert zone(200, body) is None
    assert zone(200, {**body, "status": "underserved"}) is not None
    assert zone(404, None) is not None
    assert _zone_check(territory, "Z2")(404, None) is None


def test_a_short_load_with_an_import_in_the_middle(tmp_path: Path) -> None:
    report = run_load(clients=10, seconds=6, scale="demo", workdir=tmp_path)
    print("\n".join(report.lines()))
    assert report.failures == []
    assert report.requests > 100
    assert len(report.zone_counts_seen) == 2
    assert {"before", "during", "after"} <= set(report.phases)
