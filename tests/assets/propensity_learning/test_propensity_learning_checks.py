"""Warnings of the propensity-learning stage that say what they measure: unreached targets that [J]'s distillation
supplies, and a network below the best descriptor judged with the 2-SE rule."""

import polars as pl

from glass_assets.propensity_learning.checks import beats_best_descriptor, every_target_reached

SUMMARY = pl.DataFrame({"target_cb": [0.9, 0.7]})


def test_an_unreached_target_warns_only_without_distillation():
    reached = every_target_reached(SUMMARY, [0.9, 0.7], distillation="labelled_temperatures")
    assert reached.passed and reached.metadata["not_reached"] == []
    distilled = every_target_reached(SUMMARY, [0.9, 0.7, 0.37], distillation="labelled_temperatures")
    assert distilled.passed and distilled.metadata["not_reached"] == [0.37]
    assert "supplied by distillation" in distilled.description
    missing = every_target_reached(SUMMARY, [0.9, 0.7, 0.37], distillation="none")
    assert not missing.passed and "distillation is off" in missing.description


def _scores(network: list[float], descriptor: list[float], stderr: float | None) -> pl.DataFrame:
    rows = [
        {"predictor": name, "split": "test", "subset": "A", "pearson": value, "stderr": stderr}
        for name, values in (("tglassmlp", network), ("best_descriptor:EPOT_A_L2(-)", descriptor))
        for value in values
    ]
    return pl.DataFrame(rows, schema={"predictor": pl.String, "split": pl.String, "subset": pl.String,
                                      "pearson": pl.Float64, "stderr": pl.Float64})


def test_a_network_below_the_best_descriptor_warns_only_beyond_two_standard_errors():
    above = beats_best_descriptor(_scores([0.5, 0.6], [0.4, 0.5], 0.02), subset="A")
    assert above.passed
    # difference 0.05; SE of each mean over 2 state points √2·0.05/2 = 0.035, of the difference 0.05: within 2 SE
    noisy = beats_best_descriptor(_scores([0.30, 0.36], [0.35, 0.41], 0.05), subset="A")
    assert noisy.passed and "unresolved" in noisy.description
    assert abs(noisy.metadata["difference_stderr"] - 0.05) < 1e-12
    # the same difference with SE 0.005 per state point: 0.05 > 2 × 0.005 → a warning
    clear = beats_best_descriptor(_scores([0.30, 0.36], [0.35, 0.41], 0.005), subset="A")
    assert not clear.passed and "more than 2 SE" in clear.description
    # one test configuration per state point: no SE, reported not judged
    single = beats_best_descriptor(_scores([0.30], [0.35], None), subset="A")
    assert single.passed and "too few test configurations" in single.description
