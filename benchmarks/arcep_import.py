"""ARCEP building import benchmark (``python -m benchmarks --only import``).

Generates a synthetic département in the "Ma connexion internet" layout (``base_imb_13.csv.gz``
and ``actuel_13.csv.gz``, ≈ 2.8 eligibility rows per building, a few buildings without rows,
satellite everywhere) into a temporary folder, then measures, each run in a fresh process:

- **read**: :func:`geo_service.sources.arcep.read_mci_buildings` (stream, reduce, project);
- **import**: :func:`geo_service.pipeline.import_files` into a GeoPackage store (read plus the
  store's atomic write);
- **baseline**: the straightforward way, ``pandas.read_csv`` of both whole files then
  ``groupby().apply`` with a Python function per building, and a merge.

It prints the median wall-clock time of ``--repeat`` runs, the peak resident memory of each
process, and the ratios. The baseline takes about 18 minutes for a whole département, so by
default it runs once on a smaller synthetic file (``--arcep-baseline-buildings``, 100,000) and
its time is scaled linearly to the département (``groupby().apply`` costs the same per
building); its memory is not scaled. Targets (issue 7): import ≤ 20 s and peak memory ≤ 3 GB
for 1.3 M buildings.

``python -m benchmarks.arcep_import --buildings N --repeat R`` runs it alone, baseline at full
size included.
"""

from __future__ import annotations

import argparse
import gzip
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from benchmarks.common import Context, Figure
from geo_service.model import SPEED_CLASSES, TECHNOLOGIES
from geo_service.sources.arcep import ACTUEL_LAYOUT, BASE_IMB_LAYOUT

TARGET_SECONDS: Final = 20.0
TARGET_BYTES: Final = 3e9
NAME: Final = "import"
#: Bouches-du-Rhône in Web Mercator (EPSG:3857), metres.
_X_RANGE: Final = (480_000.0, 700_000.0)
_Y_RANGE: Final = (5_330_000.0, 5_460_000.0)
_STREETS: Final = ("Rue de la République", "Avenue du Prado", "Chemin de l'Étang", "Cours Mirabeau")
_OPERATORS: Final = ("FRTE", "SFR0", "BOUY", "FREE")
#: The measured runs, in the order they are printed.
_LABELS: Final = {
    "read": "read (geo-service, stream)",
    "import": "import into the GeoPackage store",
    "baseline": "baseline (pandas + groupby.apply)",
}


def generate(folder: Path, buildings: int, seed: int = 13) -> tuple[Path, Path, int]:
    """Write ``base_imb_13.csv.gz`` and ``actuel_13.csv.gz``; return their paths and row count."""
    rng = np.random.default_rng(seed)
    ids = pc.binary_join_element_wise(
        "IMB/13055/X/", pc.utf8_lpad(_text(np.arange(buildings)), 7, "0"), ""
    )
    insee = _text(13001 + rng.integers(0, 119, buildings))
    addr = pc.binary_join_element_wise(insee, _text(np.arange(buildings)), "_")
    logloc = np.minimum(rng.geometric(0.45, buildings) - rng.binomial(1, 0.03, buildings), 400)
    base = dict.fromkeys(BASE_IMB_LAYOUT, "")
    base.update(
        imb_id=ids,
        imb_x=_text(np.round(rng.uniform(*_X_RANGE, buildings), 2)),
        imb_y=_text(np.round(rng.uniform(*_Y_RANGE, buildings), 2)),
        imb_code=ids,
        imb_code_insee=insee,
        imb_nbr_logloc=_text(logloc),
        imb_source=_pick(rng, ("fo", "fpb", "fpban"), buildings),
        imb_type=_pick(rng, ("PA", "IM"), buildings),
        addr_code=addr,
        addr_numero=_text(rng.integers(1, 300, buildings)),
        addr_nom_voie=_pick(rng, _STREETS, buildings),
        addr_code_insee=insee,
        addr_nom_commune="Marseille",
        addr_source="ban",
    )
    base_path = folder / "base_imb_13.csv.gz"
    _write(base_path, base, buildings)
    # fibre on 70 % of the buildings, copper 80 %, cable 15 %, 4G fixe 10 %, satellite
    # everywhere; 1 % of the buildings have no eligibility row at all
    has_rows = rng.random(buildings) >= 0.01
    chosen, technos, classes = [], [], []
    for techno, share, offered in (
        ("FO", 0.70, ("THD1G", "THD100")),
        ("CU", 0.80, ("HD3", "BHD8", "THD30")),
        ("COAX", 0.15, ("THD100", "THD1G")),
        ("4GF", 0.10, ("BHD8", "THD30")),
        ("SAT", 1.0, ("THD100",)),
    ):
        some = np.flatnonzero(has_rows & (rng.random(buildings) < share))
        chosen.append(some)
        technos.append(np.full(len(some), TECHNOLOGIES.index(techno)))
        classes.append(
            np.array([SPEED_CLASSES.index(c) for c in offered])[
                rng.integers(0, len(offered), len(some))
            ]
        )
    order = np.argsort(np.concatenate(chosen), kind="stable")  # rows grouped by building
    building = np.concatenate(chosen)[order]
    rows = len(building)
    actuel = dict.fromkeys(ACTUEL_LAYOUT, "")
    actuel.update(
        imb_id=ids.take(pa.array(building)),
        addr_code=addr.take(pa.array(building)),
        imb_code=ids.take(pa.array(building)),
        code_operateur=_pick(rng, _OPERATORS, rows),
        code_techno=_labels(np.concatenate(technos)[order], TECHNOLOGIES),
        classe_debit_montant=_pick(rng, SPEED_CLASSES[:6], rows),
        classe_debit_descendant=_labels(np.concatenate(classes)[order], SPEED_CLASSES),
        saturation=_pick(rng, ("0", "1"), rows),
    )
    actuel_path = folder / "actuel_13.csv.gz"
    _write(actuel_path, actuel, rows)
    return base_path, actuel_path, rows


def _generated(folder: Path, buildings: int) -> tuple[Path, Path]:
    """:func:`generate`, saying what was written; the paths of the two files."""
    start = time.perf_counter()
    base, actuel, rows = generate(folder, buildings)
    sizes = f"{base.stat().st_size / 1e6:.0f} + {actuel.stat().st_size / 1e6:.0f} MB gz"
    print(
        f"data: {buildings:,} buildings, {rows:,} eligibility rows ({sizes}), "
        f"generated in {time.perf_counter() - start:.1f} s"
    )
    return base, actuel


def _text(values: np.ndarray[Any, Any]) -> pa.Array:
    return pa.array(values).cast(pa.string())


def _labels(codes: np.ndarray[Any, Any], labels: Sequence[str]) -> pa.Array:
    return pa.DictionaryArray.from_arrays(pa.array(codes, pa.int32()), pa.array(labels)).cast(
        pa.string()
    )


def _pick(rng: np.random.Generator, labels: Sequence[str], n: int) -> pa.Array:
    return _labels(rng.integers(0, len(labels), n), labels)


def _write(path: Path, columns: dict[str, Any], rows: int) -> None:
    table = pa.table(
        {
            name: value if isinstance(value, pa.Array | pa.ChunkedArray) else pa.repeat(value, rows)
            for name, value in columns.items()
        }
    )
    options = pacsv.WriteOptions(include_header=False, delimiter=";", quoting_style="none")
    with gzip.open(path, "wb", compresslevel=1) as handle:
        handle.write((";".join(columns) + "\n").encode())
        pacsv.write_csv(table, handle, write_options=options)


def worker(kind: str, base: Path, actuel: Path) -> dict[str, float]:
    """Run one measurement in this process; return its time and peak memory.

    The modules are imported before the clock starts: the time is the work's, and a baseline
    run on a smaller file scales without the interpreter's start-up.
    """
    import geopandas  # noqa: F401 (imported before the clock, as every workload uses it)

    from geo_service import pipeline
    from geo_service.sources.arcep import read_mci_buildings
    from geo_service.sources.formats import ImportOptions
    from geo_service.store import GeoPackageStore

    start = time.perf_counter()
    if kind == "read":
        frame, _ = read_mci_buildings([base, actuel], ImportOptions())
        kept = len(frame)
    elif kind == "import":
        with tempfile.TemporaryDirectory() as tmp:
            _, report = pipeline.import_files(
                GeoPackageStore(Path(tmp)), "premises", [base, actuel]
            )
            kept = report.rows_kept
    else:
        kept = _baseline(base, actuel)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "peak_bytes": float(_peak_rss()), "kept": float(kept)}


def _peak_rss() -> int:
    """Peak resident memory of this process in bytes (Linux ``VmHWM``: unlike ``ru_maxrss``,
    it starts afresh at ``exec``, so a large parent does not leak into the figure)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _baseline(base: Path, actuel: Path) -> int:
    import geopandas as gpd
    import pandas as pd

    buildings = pd.read_csv(base, sep=";", dtype={"imb_code_insee": str})
    offers = pd.read_csv(actuel, sep=";")
    offers = offers[offers["code_techno"] != "SAT"]
    rank = {name: i for i, name in enumerate(SPEED_CLASSES)}

    def best(group: pd.DataFrame) -> pd.Series:
        ranks = group["classe_debit_descendant"].map(rank)
        top = ranks.idxmax()
        return pd.Series(
            {
                "down_class": group.at[top, "classe_debit_descendant"],
                "best_techno": group.at[top, "code_techno"],
                "ftth": bool((group["code_techno"] == "FO").any()),
            }
        )

    per_building = offers.groupby("imb_id").apply(best, include_groups=False)
    merged = buildings.merge(per_building, left_on="imb_id", right_index=True)
    merged["locaux"] = merged["imb_nbr_logloc"].clip(lower=1)
    frame = gpd.GeoDataFrame(
        merged,
        geometry=gpd.points_from_xy(merged["imb_x"], merged["imb_y"]),
        crs="EPSG:3857",
    ).to_crs("EPSG:2154")
    return len(frame)


def _measure(kind: str, base: Path, actuel: Path, repeat: int) -> list[dict[str, float]]:
    runs = []
    for _ in range(repeat):
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.arcep_import",
                "--worker",
                kind,
                str(base),
                str(actuel),
            ],
            check=False,
            capture_output=True,
            text=True,
        )
        if out.returncode != 0:
            raise RuntimeError(f"the {kind} run failed:\n{out.stderr}")
        runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return runs


def _gib(value: float) -> str:
    return f"{value / 1e9:5.2f} GB"


def _summary(
    runs: dict[str, list[dict[str, float]]],
) -> tuple[dict[str, float], dict[str, float]]:
    """The median time and the peak memory of each kind of run."""
    median = {kind: statistics.median(r["seconds"] for r in found) for kind, found in runs.items()}
    peak = {kind: max(r["peak_bytes"] for r in found) for kind, found in runs.items()}
    return median, peak


def run(context: Context) -> list[Figure]:
    """Generate the files, time the read and the import against the (scaled) baseline."""
    folder = Path(context.workdir) / "arcep"
    folder.mkdir(parents=True, exist_ok=True)
    base, actuel = _generated(folder, context.buildings)
    runs = {kind: _measure(kind, base, actuel, context.repeat) for kind in ("read", "import")}
    small = min(context.baseline_buildings, context.buildings)
    if small < context.buildings:
        sample = folder / "baseline"
        sample.mkdir(exist_ok=True)
        base, actuel, _ = generate(sample, small)
    runs["baseline"] = _measure("baseline", base, actuel, 1)
    scale = context.buildings / small
    median, peak = _summary(runs)
    base_seconds = median["baseline"] * scale
    scaled = f"scaled × {scale:.1f} from {small:,} buildings" if scale > 1 else ""
    for kind, label in _LABELS.items():
        print(f"{label:<36} {median[kind]:7.2f} s   peak {_gib(peak[kind])}")
    if scaled:
        print(f"baseline {scaled}: {base_seconds:.1f} s")
    same_size = scale == 1
    targets = context.targets_apply and context.buildings >= 1_300_000
    return [
        Figure(NAME, "ARCEP read (stream, reduce, project)", median["read"], "s", base_seconds),
        Figure(
            NAME,
            "ARCEP import into the store",
            median["import"],
            "s",
            base_seconds,
            TARGET_SECONDS if targets else None,
            note=scaled,
        ),
        Figure(
            NAME,
            "ARCEP import peak memory",
            peak["import"] / 1e9,
            "GB",
            peak["baseline"] / 1e9 if same_size else None,
            TARGET_BYTES / 1e9 if targets else None,
        ),
    ]


def main() -> None:
    """Generate the files, run the measurements and print the figures."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.arcep_import", description=__doc__)
    parser.add_argument("--buildings", type=int, default=1_300_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--baseline-repeat", type=int, default=1)
    parser.add_argument(
        "--worker", nargs=3, metavar=("KIND", "BASE", "ACTUEL"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.worker:
        kind, base, actuel = args.worker
        print(json.dumps(worker(kind, Path(base), Path(actuel))))
        return
    with tempfile.TemporaryDirectory() as tmp:
        base, actuel = _generated(Path(tmp), args.buildings)
        figures = {
            kind: _measure(kind, base, actuel, repeat)
            for kind, repeat in (
                ("read", args.repeat),
                ("import", args.repeat),
                ("baseline", args.baseline_repeat),
            )
        }
    median, peak = _summary(figures)
    kept = {k: int(runs[0]["kept"]) for k, runs in figures.items()}
    for kind, label in _LABELS.items():
        print(
            f"{label:<36} {median[kind]:7.2f} s   peak {_gib(peak[kind])}   "
            f"{kept[kind]:,} buildings kept"
        )
    print(
        f"speed-up of the read against the baseline   {median['baseline'] / median['read']:6.1f} x"
    )
    print(f"memory of the read against the baseline     {peak['read'] / peak['baseline']:6.2f} x")
    ok_time = median["import"] <= TARGET_SECONDS
    ok_memory = peak["import"] <= TARGET_BYTES
    print(
        f"targets: import ≤ {TARGET_SECONDS:.0f} s: {'met' if ok_time else 'MISSED'}; "
        f"peak ≤ {_gib(TARGET_BYTES).strip()}: {'met' if ok_memory else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
