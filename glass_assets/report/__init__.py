"""The paper report: one self-contained HTML page that regenerates [O]'s tables and figures (and [J]'s as they
land) from the warehouse and the MLflow registry, each number beside the paper's value and the scale it was
measured at. ``python -m glass_assets.report [--out PATH]`` or the ``paper_report`` asset."""
