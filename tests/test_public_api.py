"""The public Python API at the package root: small, lazy, and what the README documents."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import geo_service

README = Path(__file__).resolve().parent.parent / "README.md"


def test_every_public_name_resolves_and_is_documented() -> None:
    readme = README.read_text("utf-8")
    for name in geo_service.__all__:
        assert getattr(geo_service, name) is not None
        assert f"`{name}`" in readme, name
    assert sorted(geo_service.__all__) == sorted(geo_service._PUBLIC)


def test_importing_the_package_imports_nothing_heavy() -> None:
    heavy = "('geo_service.', 'geopandas', 'fastapi')"
    code = f"import sys, geo_service; print([m for m in sys.modules if m.startswith({heavy})])"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
