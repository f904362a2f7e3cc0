"""Large tiled boxes and S4(q)/ξ4 of the champion tGlassMLP [J] on a tiny campaign: the overlap with the tiled
start decays, composition and energies hold, S4 rows equal the direct sum of their definition, ξ4 is a value or
NULL with a reason, and a missing champion or a too small box fail clearly."""

import math

import mlflow
import numpy as np
import polars as pl
import pytest
import torch
from dagster import (
    DagsterInstance,
    Failure,
    MultiPartitionKey,
)

from glass_assets.equilibria.assets import SWAP_MC_EQUILIBRIA
from glass_assets.graph import materialize_templates
from glass_assets.large_box.assets import LARGE_BOX_EQUILIBRIA, LARGE_INHERENT, LARGE_SWAP_MC
from glass_assets.large_box.checks import (
    energy_matches_small_box,
    overlap_below_threshold,
    small_q_plateau_resolved,
)
from glass_assets.large_box.four_point_structure_factor import FOUR_POINT_STRUCTURE_FACTOR, xi4_row
from glass_assets.profiles import load_profile
from glass_assets.registry.propensity import (
    example_input,
    load_tglassmlp_champion,
    log_ensembles,
    tglassmlp_model_name,
)
from glass_assets.registry.tracking import MLflowResource
from glass_assets.resources import StudySettings
from glass_assets.tables import SWAP_MC, configurations
from glass_assets.warehouse import Warehouse, ensemble_key
from glass_core.dynamics.four_point_structure_factor import fit_ornstein_zernike
from glass_core.dynamics.four_point_structure_factor import four_point_structure_factor as s4_of
from glass_core.learning.mlp_data import PropensityDataset, split_by_configuration
from glass_core.learning.mlp_settings import MLPTrainingSettings
from glass_core.learning.tglassmlp_training import train_tglassmlp
from glass_core.models.energy import potential_energy
from glass_core.models.systems import get_system
from glass_core.structure.physics_descriptors import (
    DescriptorSpec,
    physics_inspired_descriptors,
    spec_from_feature_names,
)
from tests.helpers.paths import TINY_PROFILES

SYSTEM = get_system("ka2d_ternary")
TEMPERATURE = "1.0"
PARTITION = MultiPartitionKey({"system": "ka2d_ternary", "temperature": TEMPERATURE})
LENGTHS = (0.0, 1.0, 2.0)  # tiny profile's descriptor_lengths
TARGETS = (0.99, 0.97)  # tiny profile's state_point_targets


@pytest.fixture
def study(tiny_learning_resources):
    resources = dict(tiny_learning_resources)
    instance = DagsterInstance.ephemeral()
    return instance, resources


def register_tiny_champion(tracking: MLflowResource) -> None:
    """A tGlassMLP trained on synthetic labels at the tiny profile's state points, feature names of its descriptors."""
    names = DescriptorSpec(LENGTHS).feature_names(SYSTEM.n_types)
    rng = np.random.default_rng(0)
    n_conf, n = 4, 64
    features = rng.normal(size=(n_conf * n, len(names)))
    types = rng.integers(0, SYSTEM.n_types, n_conf * n)
    rows = [
        (features, types, np.repeat(np.arange(n_conf), n), np.full(n_conf * n, 1.0), np.full(n_conf * n, cb))
        for cb in TARGETS
    ]
    columns = [np.concatenate(c) for c in zip(*rows, strict=True)]
    labels = columns[4] + 0.01 * np.tanh(columns[0][:, 5])
    train, validation, _ = split_by_configuration(PropensityDataset(*columns, labels), (0.5, 0.5, 0.0), seed=0)
    settings = MLPTrainingSettings(
        tglass_mse_schedule=((2, 1e-2),), tglass_glassmlp_schedule=((2, 1e-3),), n_networks=2, tolerance=0.5
    )
    torch.set_num_threads(1)
    ensemble = train_tglassmlp(train, validation, None, settings, seed=0, feature_names=names, n_types=3).ensemble
    client = tracking.activate()
    with mlflow.start_run(experiment_id=tracking.experiment_id("tiny")):
        state = np.stack([columns[3], columns[4]], axis=1)
        version = log_ensembles(
            {None: ensemble}, example_input(names, columns[0], columns[1], state), "tglassmlp_ka2d_ternary"
        )
    client.set_registered_model_alias(tglassmlp_model_name("ka2d_ternary"), "champion", version)


@pytest.mark.lammps
@pytest.mark.slow
def test_large_boxes_then_s4_and_xi4(study, tmp_path):
    instance, resources = study
    store = Warehouse(resources["warehouse"].path)

    def run(assets, **extra):
        result = materialize_templates(
            assets, instance=instance, resources={**resources, **extra}, partition_key=PARTITION
        )
        assert result.success
        return result

    run([SWAP_MC_EQUILIBRIA])
    boxes = run([LARGE_BOX_EQUILIBRIA])

    # --- the tiled box forgot its start: Q = 1 at sweep 0, decays, below 1/e at the end (T = 1.0 is a liquid)
    traces = store.query("SELECT * FROM large_box_traces ORDER BY sample, sweep")
    overlap = traces["overlap"].to_numpy()
    assert traces["sweep"][0] == 0 and overlap[0] == 1.0
    assert overlap[-1] < math.exp(-1) and overlap[1 : len(overlap) // 2].mean() > overlap[len(overlap) // 2 :].mean()
    checks = {c.check_name: c for c in boxes.get_asset_check_evaluations()}
    assert checks["overlap_below_threshold"].passed and checks["composition_kept"].passed

    # --- composition of the 2 × 2 tiling kept, stored energy = numpy energy, minimum below it
    small_key, large_key = (ensemble_key("ka2d_ternary", 1.0, e) for e in (SWAP_MC, LARGE_SWAP_MC))
    small = configurations(store.read_partition("samples", small_key), store.read_partition("particles", small_key))
    large_samples = store.read_partition("samples", large_key)
    large = configurations(large_samples, store.read_partition("particles", large_key))
    assert list(large) == [0] and large[0].n_particles == 4 * small[0].n_particles == 256
    np.testing.assert_array_equal(np.bincount(large[0].types), 4 * np.bincount(small[0].types))
    np.testing.assert_allclose(large[0].box, 2 * np.asarray(small[0].box))
    numpy_energy = potential_energy(large[0], SYSTEM).total / 256
    assert numpy_energy == pytest.approx(large_samples["energy_per_particle"][0], rel=1e-8)
    inherent = store.read_partition("samples", ensemble_key("ka2d_ternary", 1.0, LARGE_INHERENT))
    assert inherent["energy_per_particle"][0] < large_samples["energy_per_particle"][0]

    # --- no champion yet: a clear error, nothing written
    with pytest.raises(Failure, match="ChampionMissingError: the registry has no champion of tglassmlp_ka2d_ternary"):
        materialize_templates(
            [FOUR_POINT_STRUCTURE_FACTOR], instance=instance, resources=resources, partition_key=PARTITION
        )
    register_tiny_champion(resources["mlflow_tracking"])

    # --- q range beyond the box: BoxTooSmallError naming the profile keys
    small_q = tmp_path / "profiles.yaml"
    small_q.write_text(TINY_PROFILES.read_text().replace("q_max: 3.0", "q_max: 0.1"))
    too_small = StudySettings(profile="tiny_learning", profiles_file=str(small_q), scratch_dir=str(tmp_path / "s"))
    with pytest.raises(Failure, match="BoxTooSmallError: .*large_box.tiles_per_side"):
        materialize_templates(
            [FOUR_POINT_STRUCTURE_FACTOR], PARTITION, instance, resources={**resources, "study": too_small}
        )
    assert store.query("SELECT count(*) n FROM four_point_structure_factor")["n"][0] == 0

    result = run([FOUR_POINT_STRUCTURE_FACTOR])
    s4 = store.query("SELECT * FROM four_point_structure_factor ORDER BY target_cb, q")
    assert sorted(set(s4["target_cb"].to_list())) == sorted(TARGETS)
    assert (s4["q"] <= 3.0).all() and (s4["n_vectors"] > 0).all() and s4["stderr"].is_null().all()  # one box

    # --- S4 rows = the direct sum over particles of the champion's prediction (independent of FINUFFT)
    ensemble, _ = load_tglassmlp_champion(resources["mlflow_tracking"].activate(), "ka2d_ternary")
    minimum_key = ensemble_key("ka2d_ternary", 1.0, LARGE_INHERENT)
    minimum = configurations(
        store.read_partition("samples", minimum_key), store.read_partition("particles", minimum_key)
    )[0]
    features = physics_inspired_descriptors(minimum, SYSTEM, DescriptorSpec(LENGTHS))
    settings = MLPTrainingSettings.from_mapping({"preset": "demo"})
    for target in TARGETS:
        predicted = ensemble.predict(features, minimum.types, 1.0, target, settings.max_iterations, settings.tolerance)
        direct = s4_of(minimum.positions, predicted.mean, minimum.box, q_max=3.0, method="direct")
        stored = s4.filter(s4["target_cb"] == target)
        np.testing.assert_allclose(stored["s4"].to_numpy(), direct.s4, rtol=1e-6)
        np.testing.assert_allclose(stored["q"].to_numpy(), direct.q, rtol=1e-12)

    # --- ξ4: a value with its fit range, or NULL with the reason (never NaN); the warn check says which
    lengths = store.query("SELECT * FROM dynamic_lengths ORDER BY target_cb")
    assert lengths.height == len(TARGETS) and set(lengths["length"]) == {"xi4"} and set(lengths["source"]) == {"ml"}
    for row in lengths.iter_rows(named=True):
        if row["resolved"]:
            assert row["value"] > 0 and row["stderr"] >= 0 and row["fit_q_min"] <= row["fit_q_max"]
        else:
            assert row["value"] is None and row["stderr"] is None and row["reason"]
    plateau = {c.check_name: c for c in result.get_asset_check_evaluations()}["small_q_plateau_resolved"]
    assert plateau.passed == all(lengths["resolved"]) and plateau.severity.value == "WARN"


def test_descriptor_spec_of_a_model_must_be_a_full_grid():
    names = DescriptorSpec(LENGTHS).feature_names(3)
    assert spec_from_feature_names(names, 3) == DescriptorSpec(LENGTHS)
    with pytest.raises(ValueError, match="descriptor grid"):
        spec_from_feature_names(names[:-1], 3)
    with pytest.raises(ValueError, match="is not a physics-inspired descriptor name"):
        spec_from_feature_names(["density", "energy"], 3)


def test_checks_flag_crafted_bad_large_boxes_and_fits():
    traces = pl.DataFrame({"sample": [0, 0, 1, 1], "sweep": [0, 100, 0, 100], "overlap": [1.0, 0.2, 1.0, 0.5]})
    outcome = overlap_below_threshold(traces)
    assert not outcome.passed and outcome.metadata["worst_sample"] == 1 and "0.500" in outcome.description
    assert overlap_below_threshold(traces.filter(pl.col("sample") == 0)).passed
    small = np.array([-2.60, -2.62, -2.61, -2.59])  # σ ≈ 0.013: tolerance max(3 σ_Δ, 0.005) ≈ 0.02
    assert energy_matches_small_box(np.array([-2.605]), small, tiles=4).passed
    assert not energy_matches_small_box(np.array([-2.50]), small, tiles=4).passed
    lengths = pl.DataFrame({"target_cb": [0.9, 0.6], "resolved": [True, False], "reason": [None, "no plateau"]})
    plateau = small_q_plateau_resolved(lengths)
    assert not plateau.passed and plateau.metadata["unresolved"] == {"cb=0.6": "no plateau"}


def test_large_box_profile_section_is_typed(tmp_path):
    demo, paper = load_profile("demo").large_box, load_profile("paper").large_box
    assert (demo.tiles_per_side, paper.tiles_per_side) == (4, 8) and isinstance(demo.q_max, float)
    assert paper.tiles_per_side**2 * load_profile("paper").swap_mc.n_particles == 82_560
    assert load_profile("tiny_learning", TINY_PROFILES).large_box.n_boxes == 1  # inherited from tiny
    bad = tmp_path / "p.yaml"
    bad.write_text(TINY_PROFILES.read_text().replace("oz_model: oz", "oz_model: gaussian"))
    with pytest.raises(ValueError, match="oz_model"):
        _ = load_profile("tiny", bad).large_box


def test_an_uncorrelated_field_has_no_resolved_xi4():
    """White noise: S4 is flat, ξ4 → 0 fits it, but no decay is seen, so ξ4 is unresolved and stored as NULL."""
    rng = np.random.default_rng(4)
    box = (40.0, 40.0)
    result = s4_of(rng.uniform(0, 40.0, (4, 2000, 2)), rng.normal(size=(4, 2000)), box, q_max=2.0)
    fit = fit_ornstein_zernike(result)
    assert not fit.resolved and "no decay" in fit.reason and fit.q_fit_max <= result.q.max()
    row = xi4_row("ka2d_ternary", 0.3, 0.5, result, fit)
    assert row["value"] is None and row["stderr"] is None and not row["resolved"] and "no decay" in row["reason"]
