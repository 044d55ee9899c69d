"""The benchmarks keep working: ``python -m benchmarks --smoke`` runs every workload on tiny data.

Figures are not checked (this is no timed test), only that each workload ran and printed
its figures in the final table.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from conftest import ROOT, require

WORKLOADS = ("import", "analyze", "api", "maps", "postgis", "transport", "national", "whole")
FIGURES = {
    "import": ("ARCEP read", "ARCEP import into the store", "ARCEP import peak memory"),
    "analyze": ("analyze", "analyze speed-up over the baseline"),
    "api": ("zones items p99, concurrency 32", "here p50, concurrency 1"),
    "maps": ("territory map HTML (served)", "territory map build, every piece computed"),
    "postgis": ("zone overlay (premises shares)", "PostGIS store: write premises"),
    "transport": ("access, straight lines", "access with a road graph"),
    "national": ("analyze --engine dask", "analyze --engine dask peak memory"),
    "whole": (
        "geo-service analyze on the store, whole process",
        "geo-service analyze on the store, in-process",
        "geo-service analyze on GeoParquet files, whole process",
        "geo-service analyze on GeoParquet files / plain script",
        "geo-service import premises, whole process",
        "geo-service import premises, in-process",
        "geo-service serve until the first answer, whole process",
        "geo-service serve until loaded, whole process",
        "geo-service serve until loaded, in-process",
        "opinion --all-flagged, whole process",
        "geo-service --help, whole process",
    ),
}


@pytest.fixture(scope="module")
def smoke() -> str:
    """The output of one smoke run of every workload."""
    env = {k: v for k, v in os.environ.items() if k != "GEO_SERVICE_DATABASE_URL"}
    run = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--smoke"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    return run.stdout


def table(output: str) -> list[str]:
    return output.split("== figures ==", 1)[1].splitlines()


@pytest.mark.parametrize("workload", WORKLOADS)
def test_every_workload_prints_its_figures(smoke: str, workload: str) -> None:
    if workload == "postgis":
        require(
            bool(os.environ.get("GEO_SERVICE_TEST_DATABASE_URL")),
            "GEO_SERVICE_TEST_DATABASE_URL is not set (no PostGIS)",
        )
    rows = [line for line in table(smoke) if line.startswith(f"{workload} ")]
    for figure in FIGURES[workload]:
        assert any(f" {figure}" in row for row in rows), f"{workload}: no '{figure}' figure"
    assert f"== {workload} ==" in smoke


def test_the_run_reports_the_machine_and_no_failure(smoke: str) -> None:
    assert smoke.startswith("machine: ")
    assert "workloads failed: none" in smoke
    assert "Traceback" not in smoke
