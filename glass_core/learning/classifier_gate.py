"""Whether a liquid/glass classifier works well enough for its Grad-CAM to mean anything [O].

[O]'s chain is: a CNN that tells liquid from glass almost perfectly (test accuracy ≥ 0.998, [O] Table II), then
Grad-CAM Γ of that CNN's glass class, then correlations of Γ with Υ, 1 − Θ and the propensity. A network at
chance has a Grad-CAM map too, but it explains no decision, so a correlation built on it is no finding.

The gate. With k of n validation images correct (both classes together), the accuracy p̂ = k/n has the
binomial standard error √(p̂(1 − p̂)/n) and the Wilson score interval at z = 2 standard errors
(:class:`glass_core.models.statistics.Accuracy`). The classifier is **resolved** when the interval's lower end
is at least the threshold a:

    resolved  ⟺  wilson_low(k, n; z = 2) ≥ a   ⟺   p̂ − a ≥ 2 √(a(1 − a)/n)   (score test, p̂ > a)

so the accuracy is above a by the platform's 2-SE resolution, not merely at it. A perfect score reaches
n/(n + 4), so a needs n ≥ 4a/(1 − a) validation images (76 for a = 0.95); a validation split smaller than that
can never pass and is refused before anything is trained (:meth:`ClassifierGate.check_split`).

Champion selection needs a validation split of at least ``min_per_class`` images of *each* class: with 20 per
class the overall accuracy's binomial SE is ≤ √(0.25/40) = 0.079 and a per-class accuracy's ≤ 0.11, so a network
at chance (0.5) is told apart from one at ≥ 0.66 at 2 SE. Eight images (SE ≈ 0.17) cannot: the demo champion
that prompted this gate had validation 0.625 on 8 images, Wilson [0.30, 0.87], which includes chance.

References: [O]; [W27].
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from glass_core.models.statistics import RESOLUTION, Accuracy, minimum_resolving_size

__all__ = [
    "CLASSIFIER_RESOLVED",
    "CLASSIFIER_STATUSES",
    "CLASSIFIER_UNRESOLVED",
    "ClassifierGate",
    "ClassifierStatus",
    "GateError",
    "no_finding_text",
]

ClassifierStatus = Literal["resolved", "classifier_unresolved"]
#: the classifier's validation accuracy is resolved above the gate: its Grad-CAM findings are results
CLASSIFIER_RESOLVED: ClassifierStatus = "resolved"
#: it is not: rows built on its Grad-CAM are kept for diagnosis, marked, and never shown as a finding
CLASSIFIER_UNRESOLVED: ClassifierStatus = "classifier_unresolved"
CLASSIFIER_STATUSES: tuple[ClassifierStatus, ...] = (CLASSIFIER_RESOLVED, CLASSIFIER_UNRESOLVED)


class GateError(ValueError):
    """A gate setting is out of range, or a validation split is too small for it (names the setting)."""


@dataclass(frozen=True)
class ClassifierGate:
    """The gate on a classifier's validation accuracy and the minimum validation split.

    Attributes:
        threshold: a in (0.5, 1]; the Wilson lower end (z standard errors) of the validation accuracy must reach
            it. [O]'s regime is ≥ 0.998; the platform's default is 0.95.
        min_per_class: validation images of each class below which no champion is chosen (default 20).
        z: standard errors of the interval (the platform's :data:`RESOLUTION`, 2).
        setting: how a user names the threshold in error messages (e.g. ``cnn.gate_accuracy``).
        size_setting: how a user names ``min_per_class``.
    """

    threshold: float = 0.95
    min_per_class: int = 20
    z: float = RESOLUTION
    setting: str = "gate_accuracy"
    size_setting: str = "min_validation_per_class"

    def __post_init__(self) -> None:
        if not 0.5 < self.threshold <= 1.0:
            raise GateError(
                f"{self.setting} = {self.threshold} is outside (0.5, 1]: a gate at or below 0.5 lets a classifier at "
                "chance through"
            )
        if self.min_per_class < 1:
            raise GateError(f"{self.size_setting} = {self.min_per_class} must be at least 1")

    @property
    def minimum_validation_size(self) -> int:
        """Validation images (both classes) below which even a perfect score cannot pass: ⌈z² a/(1 − a)⌉."""
        if self.threshold >= 1.0:
            raise GateError(
                f"{self.setting} = 1 cannot be resolved by any finite validation split (a perfect score on n images "
                f"has a Wilson lower end n/(n + {self.z**2:g}) < 1): lower it"
            )
        return minimum_resolving_size(self.threshold, self.z)

    def check_split(self, n_liquid: int, n_glass: int, where: str = "the validation split") -> None:
        """Raise :class:`GateError`, naming the setting, if ``where`` cannot choose a champion or pass the gate.

        Needs ≥ ``min_per_class`` images of each class and ≥ :attr:`minimum_validation_size` images in all.
        """
        if min(n_liquid, n_glass) < self.min_per_class:
            raise GateError(
                f"{where} holds {n_liquid} liquid and {n_glass} glass images, fewer than {self.size_setting} = "
                f"{self.min_per_class} of each class: a champion chosen on it would not be resolved (raise the "
                "number of quench runs or the validation fraction)"
            )
        needed = self.minimum_validation_size
        if n_liquid + n_glass < needed:
            raise GateError(
                f"{where} holds {n_liquid + n_glass} images, too few for {self.setting} = {self.threshold:g}: even "
                f"a perfect score needs ≥ {needed} images to be resolved above it at {self.z:g} SE (Wilson lower "
                "end); raise the validation split or lower the threshold"
            )

    def status(self, accuracy: Accuracy) -> ClassifierStatus:
        """:data:`CLASSIFIER_RESOLVED` if ``accuracy``'s Wilson lower end reaches the threshold, else unresolved."""
        return CLASSIFIER_RESOLVED if accuracy.resolved_above(self.threshold, self.z) else CLASSIFIER_UNRESOLVED

    def describe(self, accuracy: Accuracy) -> str:
        """One line a user reads in a log or a report: the accuracy with n and interval against the gate."""
        verdict = "resolved above" if self.status(accuracy) == CLASSIFIER_RESOLVED else "NOT resolved above"
        return f"validation accuracy {accuracy.text()} — {verdict} the gate {self.threshold:g} (Wilson lower end)"


def no_finding_text(accuracy: Accuracy | None = None, threshold: float | None = None) -> str:
    """What a summary says in place of a Grad-CAM correlation from an unresolved classifier.

    "classifier at chance" when the accuracy's Wilson interval (z = 2) reaches down to 0.5, "classifier below the
    gate" when it is above chance but not resolved above ``threshold``, "classifier accuracy unknown" for n = 0
    (rows written before the gate).
    """
    if accuracy is not None and accuracy.n == 0:
        head = "classifier accuracy unknown: no Grad-CAM finding"
    elif accuracy is None or accuracy.interval()[0] <= 0.5:
        head = "classifier at chance: no Grad-CAM finding"
    else:
        head = "classifier below the gate: no Grad-CAM finding"
    if accuracy is None:
        return head
    gate = f", gate {threshold:g}" if threshold is not None else ""
    return f"{head} (validation accuracy {accuracy.text()}{gate})"
