"""The straightforward server, run as ``python -m benchmarks.plain_server STORE PORT``.

Reads the zone results and the premises with geopandas and serves ``/healthz`` and the zones
as GeoJSON with FastAPI and uvicorn: what a plain script serving the same layers would start
with, timed until its first answer by :mod:`benchmarks.whole_process`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import geopandas as gpd
import uvicorn
from fastapi import FastAPI, Response


def main(store: Path, port: int) -> None:
    """Read the layers, then serve them on 127.0.0.1:``port``."""
    zones = gpd.read_file(store / "zone_results.gpkg").to_crs("EPSG:4326")
    premises = gpd.read_file(store / "premises.gpkg")
    app = FastAPI()

    @app.get("/healthz")
    def healthz() -> dict[str, int]:
        return {"zones": len(zones), "premises": len(premises)}

    @app.get("/zones")
    def features() -> Response:
        return Response(zones.to_json(), media_type="application/geo+json")

    uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]))
