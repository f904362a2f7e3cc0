"""What every section of the paper report keeps to: a table that cannot be read shows its error in its section and
the rest of the page is still written (:func:`guarded`); the paper's value stands in a shaded column
(:data:`PAPER`); a Grad-CAM row of a CNN not resolved above the classifier gate is no finding ([O]'s Γ:
:func:`is_finding`, :data:`NO_FINDING_CELL`, :func:`no_finding`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import duckdb
import polars as pl
from mlflow.exceptions import MlflowException

from glass_assets.registry.cnn_split import logged_accuracy
from glass_assets.registry.tracking import MLflowResource
from glass_assets.report.data import champion
from glass_assets.report.html import Section, absent, note
from glass_assets.warehouse import WarehouseError
from glass_core.learning.classifier_gate import CLASSIFIER_RESOLVED, ClassifierGate, no_finding_text

__all__ = ["NO_FINDING_CELL", "PAPER", "READ_ERRORS", "guarded", "is_finding", "no_finding"]

#: what a section may meet in an older or foreign warehouse; shown in the section, never raised
READ_ERRORS = (duckdb.Error, pl.exceptions.PolarsError, WarehouseError, MlflowException)
PAPER = "paper"  # the shaded column of every table


def guarded(build: Callable[..., Section]) -> Callable[..., Section]:
    """A section builder whose read errors become a visible error paragraph instead of a failed report, and whose
    section says so when the report has no system for it."""

    @functools.wraps(build)
    def guarded(*args: object) -> Section:
        try:
            section = build(*args)
            if not args[-1]:  # every builder takes the systems last
                section.add(absent("no system of this paper in the campaign or the warehouse"))
            return section
        except READ_ERRORS as error:
            section = Section(build.__doc__.split(":")[0], build.__name__.replace("_", "-"))
            section.add(note(f"could not be read: {type(error).__name__}: {error}", "error"))
            section.summary.append(f"- {section.title}: **read error** ({type(error).__name__})")
            return section

    return guarded


def is_finding(row: dict) -> bool:
    """A correlation row is a finding unless it is built on Γ of a classifier not resolved above the gate (rows
    written before the gate carry no status and count as unresolved)."""
    return "gamma" not in row["pair"] or row.get("classifier_status") == CLASSIFIER_RESOLVED


NO_FINDING_CELL = "no Grad-CAM finding (classifier unresolved)"


def no_finding(tracking: MLflowResource, system: str) -> str:
    """ "classifier at chance: no Grad-CAM finding (validation accuracy …)" for the system's champion CNN."""
    found = champion(tracking, system)
    if found is None:
        return no_finding_text()
    gate = float(found.params.get("gate_accuracy", ClassifierGate.threshold))
    return no_finding_text(logged_accuracy(found.metrics, found.params, "validation"), gate)
