"""``python -m glass_assets.report [--out PATH]``: regenerate the paper report from the warehouse and the registry.

The warehouse, registry and data folder are the platform's (``GLASS_WAREHOUSE``, ``MLFLOW_TRACKING_URI`` and
``GLASS_SCRATCH`` override them, as for Dagster); the systems are the campaign's plus any the warehouse holds.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from glass_assets.campaign import load_campaign
from glass_assets.profiles import configured_profile
from glass_assets.registry.tracking import MLflowResource
from glass_assets.report.assets import report_path
from glass_assets.report.build import report_systems, write_report
from glass_assets.report.data import ReportData
from glass_assets.resources import default_resources
from glass_assets.warehouse import Warehouse


def _campaign_systems() -> list[str]:
    try:
        return load_campaign().systems
    except ValueError as error:  # a broken campaign file must not stop the report: the warehouse names the systems
        print(f"campaign file not used: {error}", file=sys.stderr)
        return []


def main(argv: list[str] | None = None) -> Path:
    """Parse the arguments, write the report, print its path and which sections have data."""
    profile = configured_profile()  # an unknown profile or a bad profiles file stops here, naming file and key
    resources = default_resources()
    parser = argparse.ArgumentParser(prog="python -m glass_assets.report", description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=report_path(resources["study"]), help="HTML file to write")
    parser.add_argument("--warehouse", type=Path, default=Path(resources["warehouse"].path), help="DuckDB file")
    parser.add_argument(
        "--tracking-uri", default=resources["mlflow_tracking"].tracking_uri, help="MLflow tracking/registry URI"
    )
    parser.add_argument("--systems", nargs="*", help="systems to report (default: the campaign's and the warehouse's)")
    args = parser.parse_args(argv)
    store = Warehouse(args.warehouse)
    systems = args.systems or report_systems(ReportData(store), _campaign_systems())
    report = write_report(
        args.out.resolve(), store, MLflowResource(tracking_uri=args.tracking_uri), systems,
        allow_mixed=profile.provenance.allow_mixed,
    )
    print(report.path)
    for section in report.sections:
        print(f"  {'with data' if section.present else 'not materialized yet':>21}  {section.title}")
    return report.path


if __name__ == "__main__":
    main()
