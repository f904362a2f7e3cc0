"""The classifier gate: a Grad-CAM finding needs a CNN whose validation accuracy is resolved above the threshold."""

import pytest

from glass_core.learning.classifier_gate import (
    CLASSIFIER_RESOLVED,
    CLASSIFIER_UNRESOLVED,
    ClassifierGate,
    GateError,
    no_finding_text,
)
from glass_core.learning.correlations import NOT_JUDGED, OYAMA_GLASS_CONDITIONS, evaluate_conditions
from glass_core.models.statistics import Accuracy, SampleMean


def test_the_demo_champion_that_prompted_the_gate_is_unresolved_and_kam_is_not():
    gate = ClassifierGate()  # 0.95, 20 per class, 2 SE
    abm = Accuracy(5, 8)  # validation 0.625 on 8 images: Wilson [0.30, 0.87] includes chance
    assert gate.status(abm) == CLASSIFIER_UNRESOLVED
    assert no_finding_text(abm, 0.95).startswith("classifier at chance: no Grad-CAM finding")
    assert "0.625 ± 0.17 (n = 8" in gate.describe(abm) and "NOT resolved" in gate.describe(abm)
    assert gate.status(Accuracy(8, 8)) == CLASSIFIER_UNRESOLVED  # perfect, but 8 images cannot show ≥ 0.95
    assert gate.status(Accuracy(80, 80)) == CLASSIFIER_RESOLVED  # Wilson lower end 80/84 = 0.952
    assert gate.status(Accuracy(79, 80)) == CLASSIFIER_UNRESOLVED  # one error: lower end 0.93
    above_chance = no_finding_text(Accuracy(70, 80), 0.95)  # 0.875: resolved above chance, below the gate
    assert above_chance.startswith("classifier below the gate: no Grad-CAM finding")
    assert no_finding_text(Accuracy(0, 0)).startswith("classifier accuracy unknown")


def test_a_threshold_outside_the_open_half_interval_is_refused_by_name():
    for threshold in (0.5, 0.2, 1.01):
        with pytest.raises(GateError, match=rf"gate_accuracy = {threshold} is outside \(0.5, 1\]"):
            ClassifierGate(threshold)
    with pytest.raises(GateError, match="min_validation_per_class = 0"):
        ClassifierGate(0.9, 0)


def test_a_validation_split_too_small_is_refused_naming_the_setting():
    gate = ClassifierGate(0.95, 20, setting="cnn.gate_accuracy", size_setting="cnn.min_validation_per_class")
    with pytest.raises(GateError, match=r"4 liquid and 4 glass images, fewer than cnn.min_validation_per_class = 20"):
        gate.check_split(4, 4)
    with pytest.raises(GateError, match=r"holds 40 images, too few for cnn.gate_accuracy = 0.95: .* ≥ 76 images"):
        gate.check_split(20, 20)  # enough to choose a champion, never enough to pass 0.95
    gate.check_split(38, 38)  # 76: a perfect score is exactly resolved
    ClassifierGate(0.9, 18).check_split(18, 18)  # 36 images resolve 0.9
    with pytest.raises(GateError, match="cannot be resolved by any finite validation split"):
        ClassifierGate(1.0).check_split(10_000, 10_000)


def test_conditions_on_grad_cam_means_of_an_unresolved_classifier_are_not_judged():
    means = {
        "gamma~upsilon": SampleMean(0.6, 0.05, 40),
        "gamma~one_minus_theta": SampleMean(0.4, 0.05, 40),
        "one_minus_theta~upsilon": SampleMean(0.36, 0.05, 40),
    }
    judged = evaluate_conditions(OYAMA_GLASS_CONDITIONS["abm"], means)
    assert [r.verdict for r in judged] == ["pass", "pass", "pass"]
    gated = evaluate_conditions(OYAMA_GLASS_CONDITIONS["abm"], means, {"gamma~upsilon", "gamma~one_minus_theta"})
    verdicts = {r.condition.pairs: r.verdict for r in gated}
    assert verdicts[("gamma~upsilon",)] == NOT_JUDGED and verdicts[("gamma~one_minus_theta",)] == NOT_JUDGED
    assert verdicts[("one_minus_theta~upsilon",)] == "pass"  # needs no CNN: judged as before
