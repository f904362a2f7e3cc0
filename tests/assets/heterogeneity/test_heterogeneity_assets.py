"""Dynamic heterogeneity assets on crafted warehouse rows with known answers: χ4 of independent propensities is
their variance, stripes of mobile sites have a chord length counted by hand, the full χ4 of two replicas is
the variance over the pooled trajectories, P(L) of a registered tGlassMLP is its attention averaged per L by
hand; the summary figure and its checks; the campaign sensor's requests."""

import functools

import mlflow
import numpy as np
import polars as pl
import pytest
import torch
import yaml
from dagster import AssetMaterialization, DagsterInstance, Failure, MultiPartitionKey

from glass_assets.graph import materialize_templates
from glass_assets.heterogeneity.assets import DYNAMIC_HETEROGENEITY
from glass_assets.heterogeneity.attention import ATTENTION_LENGTHS
from glass_assets.heterogeneity.summary import HETEROGENEITY_SUMMARY
from glass_assets.launchers import LocalProcessLauncher
from glass_assets.profiles import load_profile
from glass_assets.registry.propensity import example_input, log_ensembles
from glass_assets.registry.tracking import MLflowResource
from glass_assets.resources import StudySettings, WarehouseResource
from glass_assets.warehouse import Warehouse
from glass_core.learning.mlp_data import PropensityDataset
from glass_core.learning.mlp_settings import MLPTrainingSettings
from glass_core.learning.tglassmlp_training import train_tglassmlp
from tests.helpers.paths import TINY_PROFILES

SYSTEM, T, T_COLD = "ka2d_ternary", 0.5, 0.4
SIDE = 16  # 16 × 16 particles, one per 1σ lattice site of a 16σ box
N, N_CONF = SIDE * SIDE, 8
X_SITE = (np.arange(N) // SIDE).astype(float)  # particle k sits at site (k // 16, k % 16)
Y_SITE = (np.arange(N) % SIDE).astype(float)
# mobile (small C_B) columns of width w, period 2w: per row SIDE/(2w)·... chords of w along x, full columns along y
STRIPE_MD, STRIPE_ML = 4, 2
CHORD_MD = (SIDE * 2 * 4 + 8 * SIDE) / (SIDE * 2 + 8)  # 32 row chords of 4, 8 column chords of 16: 6.4
CHORD_ML = (SIDE * 4 * 2 + 8 * SIDE) / (SIDE * 4 + 8)  # 64 row chords of 2, 8 column chords of 16: 3.56


def _stripes(width: int, rng: np.random.Generator) -> np.ndarray:
    mobile = (X_SITE // width) % 2 == 0
    return np.where(mobile, 0.2, 0.8) + rng.uniform(-0.05, 0.05, N)


def _frame(columns: dict, n: int) -> pl.DataFrame:
    return pl.DataFrame({k: (v if isinstance(v, np.ndarray | list) else [v] * n) for k, v in columns.items()})


def _particles(sample: int, temperature: float) -> pl.DataFrame:
    return _frame(
        {"system": SYSTEM, "temperature": temperature, "ensemble": "swap_mc", "sample": sample,
         "particle": np.arange(N, dtype=np.int32), "type": np.zeros(N, np.int8), "x": X_SITE + 0.5,
         "y": Y_SITE + 0.5},
        N,
    )  # fmt: skip


def _write_equilibria(store: Warehouse, temperature: float) -> None:
    samples = pl.DataFrame(
        {"system": SYSTEM, "temperature": temperature, "ensemble": "swap_mc", "sample": list(range(N_CONF)),
         "seed": 0, "n_particles": N, "box_x": float(SIDE), "box_y": float(SIDE), "potential_energy": -1.0,
         "energy_per_particle": -1.0 / N}
    )  # fmt: skip
    particles = pl.concat([_particles(s, temperature) for s in range(N_CONF)])
    store.replace_partition(
        {"system": SYSTEM, "temperature": temperature, "ensemble": "swap_mc"},
        {"samples": samples, "particles": particles},
    )


def _label_rows(target: float, sample: int, values: np.ndarray) -> pl.DataFrame:
    return _frame(
        {"system": SYSTEM, "temperature": T, "target_cb": target, "sample": sample,
         "particle": np.arange(N, dtype=np.int32), "type": np.zeros(N, np.int8), "time": 10.0, "propensity": values,
         "propensity_half_a": values, "propensity_half_b": values},
        N,
    )  # fmt: skip


def _prediction_rows(temperature: float, target: float, sample: int, values: np.ndarray) -> pl.DataFrame:
    """Two networks predicting ``values`` ± 0.01: the same χ4 and chords as their mean, zero spread between them."""
    members = np.stack([values + 0.01, values - 0.01], axis=1).astype(np.float32)
    return _frame(
        {"system": SYSTEM, "temperature": temperature, "target_cb": target, "sample": sample,
         "particle": np.arange(N, dtype=np.int32), "type": np.zeros(N, np.int8), "predicted": values,
         "spread": 0.01, "model_version": "1", "particle_type": "A"},
        N,
    ).with_columns(pl.Series("members", members).cast(pl.List(pl.Float32)))  # fmt: skip


def _propensity_rows(sample: int, frame: int, time: float, half_a: np.ndarray, half_b: np.ndarray) -> pl.DataFrame:
    return _frame(
        {"system": SYSTEM, "temperature": T, "ensemble": "swap_mc", "source_temperature": T, "sample": sample,
         "particle": np.arange(N, dtype=np.int32), "frame": frame, "time": time, "crsd": 0.0,
         "bond_breaking": (half_a + half_b) / 2, "n_bonds": 6, "bond_breaking_half_a": half_a,
         "bond_breaking_half_b": half_b},
        N,
    )  # fmt: skip


def write_crafted_study(store: Warehouse) -> dict[str, np.ndarray]:
    """MD labels and predictions at T (⟨C_B⟩ = 0.8 stripes, 0.6 independent, 0.4 one configuration only),
    predictions at T_COLD, two MD frames of two replicas; returns the independent fields for the checks."""
    rng = np.random.default_rng(11)
    for temperature in (T, T_COLD):
        _write_equilibria(store, temperature)
    independent = rng.uniform(0, 1, (N_CONF, N))
    labels = [_label_rows(0.8, s, _stripes(STRIPE_MD, rng)) for s in range(6)]  # MD labels on 6 of 8
    labels += [_label_rows(0.6, s, independent[s]) for s in range(N_CONF)]
    labels.append(_label_rows(0.4, 0, rng.uniform(0, 1, N)))
    points = pl.DataFrame(
        {"system": SYSTEM, "temperature": T, "target_cb": [0.4, 0.6, 0.8], "time": 10.0,
         "mean_bond_breaking": [0.4, 0.6, 0.8], "n_configurations": [1, N_CONF, 6], "n_replicas": 1}
    )  # fmt: skip
    key = {"system": SYSTEM, "temperature": T}
    predicted = rng.uniform(0, 1, (N_CONF, N))
    predictions = [_prediction_rows(T, 0.8, s, _stripes(STRIPE_ML, rng)) for s in range(N_CONF)]
    predictions += [_prediction_rows(T, 0.6, s, predicted[s]) for s in range(N_CONF)]
    trajectories = rng.uniform(0, 1, (N_CONF, 2, N)) * 0.5 + rng.uniform(0, 1, (N_CONF, 1, N)) * 0.5
    frames = [_propensity_rows(s, 0, 0.0, np.ones(N), np.ones(N)) for s in range(N_CONF)]
    frames += [_propensity_rows(s, 1, 5.0, *trajectories[s]) for s in range(N_CONF)]
    summary = pl.DataFrame(
        {"system": SYSTEM, "temperature": T, "ensemble": "swap_mc", "source_temperature": T,
         "sample": list(range(N_CONF)), "frame": 0, "time": 0.0, "mean_bond_breaking": 1.0, "cage_clock": 0.0,
         "n_replicas": 2}
    )  # fmt: skip
    store.replace_partition(
        key,
        {"state_point_labels": pl.concat(labels), "state_points": points, "propensity": pl.concat(frames),
         "propensity_summary": summary, "propensity_predictions": pl.concat(predictions)},
    )  # fmt: skip
    checkerboard = np.where((X_SITE + Y_SITE) % 2 == 0, 0.3, 0.7)  # alternates between neighbours: ℓ_ch = 1 σ
    cold = [_prediction_rows(T_COLD, 0.8, s, _stripes(STRIPE_ML, rng)) for s in range(N_CONF)]
    cold += [_prediction_rows(T_COLD, 0.6, s, checkerboard + rng.uniform(-0.01, 0.01, N)) for s in range(N_CONF)]
    store.replace_partition({"system": SYSTEM, "temperature": T_COLD}, {"propensity_predictions": pl.concat(cold)})
    return {"independent": independent, "predicted": predicted, "trajectories": trajectories}


@pytest.fixture
def study(tmp_path, monkeypatch):
    campaign = tmp_path / "campaign.yaml"
    campaign.write_text(
        f"systems:\n  {SYSTEM}:\n    swap_mc: [{T}, {T_COLD}]\n    propensity: [{T}]\n    propensity_learning: true\n"
        f"    heterogeneity: true\n    large_box: [{T}, {T_COLD}]\n"
    )
    monkeypatch.setenv("GLASS_CAMPAIGN", str(campaign))
    resources = {
        "study": StudySettings(
            profile="tiny_learning", profiles_file=str(TINY_PROFILES), scratch_dir=str(tmp_path / "scratch")
        ),
        "warehouse": WarehouseResource(path=str(tmp_path / "warehouse.duckdb")),
        "mlflow_tracking": MLflowResource(
            tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}", artifact_root=str(tmp_path / "artifacts")
        ),
        "simulation": LocalProcessLauncher(),
    }
    instance = DagsterInstance.ephemeral()
    store = Warehouse(resources["warehouse"].path)
    store.ensure_writable()
    return instance, resources, store


def _value(rows: pl.DataFrame, **where: object) -> pl.DataFrame:
    for column, value in where.items():
        rows = rows.filter(pl.col(column).is_null() if value is None else pl.col(column) == value)
    assert rows.height == 1, where
    return rows.row(0, named=True)


def _register_tiny_tglassmlp(resources: dict, monkeypatch: pytest.MonkeyPatch) -> tuple[object, np.ndarray]:
    """A tGlassMLP trained on synthetic rows with descriptor names 'OBS_all_L<length>', registered as champion
    (pip requirements given, so MLflow skips their inference in a subprocess: 20 s on a loaded machine)."""
    monkeypatch.setattr(mlflow.pyfunc, "log_model", functools.partial(mlflow.pyfunc.log_model, pip_requirements=[]))
    torch.set_num_threads(1)
    rng = np.random.default_rng(0)
    names = [f"{obs}_all_L{length}" for obs in ("DEN", "EPOT") for length in (0.0, 1.0, 2.0)]
    rows = [(T, cb, c) for cb in (0.8, 0.6) for c in range(4)]
    n = 40
    features = rng.normal(size=(len(rows) * n, len(names))).astype(np.float32)
    state = np.repeat(np.array([(t, cb) for t, cb, _ in rows]), n, axis=0)
    labels = state[:, 1] + 0.1 * np.tanh(features[:, 0])
    data = PropensityDataset(
        features, np.zeros(len(labels), np.int64), np.repeat([c for *_, c in rows], n), state[:, 0], state[:, 1],
        labels.astype(np.float32),
    )  # fmt: skip
    settings = MLPTrainingSettings(
        glassmlp_schedule=((2, 1e-2),), tglass_mse_schedule=((2, 1e-2),), tglass_glassmlp_schedule=((2, 1e-3),),
        n_glassmlp_networks=1, n_networks=2, n_networks_equal_cb=1, tolerance=0.99,
    )  # fmt: skip
    ensemble = train_tglassmlp(data, data, None, settings, seed=0, feature_names=names, n_types=3).ensemble
    client = resources["mlflow_tracking"].activate()
    with mlflow.start_run():
        version = log_ensembles(
            {None: ensemble},
            example_input(names, features[:8], np.zeros(8, np.int64), state[:8]),
            "tglassmlp_" + SYSTEM,
        )
    client.set_registered_model_alias("tglassmlp_" + SYSTEM, "champion", version)
    return ensemble, np.array([0.0, 1.0, 2.0, 0.0, 1.0, 2.0])


def test_dynamic_heterogeneity_attention_and_summary_on_crafted_rows(study, monkeypatch):
    instance, resources, store = study
    fields = write_crafted_study(store)
    partition = MultiPartitionKey({"system": SYSTEM, "temperature": repr(T)})
    result = materialize_templates(
        [DYNAMIC_HETEROGENEITY], instance=instance, resources=resources, partition_key=partition
    )
    checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
    assert not checks["enough_configurations"].passed  # ⟨C_B⟩ = 0.4 has one configuration: said, not written
    assert "md χ4 at ⟨C_B⟩ = 0.4" in checks["enough_configurations"].description
    assert checks["no_nan_written"].passed
    rows = store.query("SELECT * FROM heterogeneity")
    assert rows.filter(pl.col("target_cb") == 0.4)["observable"].to_list() == ["chord_length"]  # no χ4 row

    # independent propensities: χ4 = Var(X) = 1/12 and χ4_norm = 1, within the bootstrap error
    for source, field in (("md", fields["independent"]), ("ml", fields["predicted"])):
        chi4 = _value(rows, source=source, observable="chi4", target_cb=0.6)
        assert chi4["n_configurations"] == N_CONF and abs(chi4["value"] - 1 / 12) < 4 * chi4["stderr"]
        norm = _value(rows, source=source, observable="chi4_normalised", target_cb=0.6)
        assert abs(norm["value"] - 1.0) < 4 * norm["stderr"]
        assert chi4["value"] == pytest.approx(N * field.mean(axis=1).var(), rel=1e-6)  # members stored as float32
    # stripes: ℓ_ch counted by hand; ML on the 6 MD-labelled configurations, side by side
    lengths = store.query("SELECT * FROM dynamic_lengths WHERE length = 'chord'")
    md = _value(lengths, source="md", target_cb=0.8)
    ml = _value(lengths, source="ml", target_cb=0.8)
    assert md["value"] == pytest.approx(CHORD_MD) and ml["value"] == pytest.approx(CHORD_ML)
    assert md["n_configurations"] == ml["n_configurations"] == 6 and md["stderr"] == pytest.approx(0.0, abs=1e-12)
    assert _value(lengths, source="md", target_cb=0.4)["stderr"] is None  # one configuration: NULL, not NaN
    # per network [J]: two networks differing by a constant have the same χ4 and chords, spread 0
    assert ml["n_networks"] == 2 and ml["network_spread"] == pytest.approx(0.0, abs=1e-12)
    assert _value(rows, source="ml", observable="chi4", target_cb=0.6)["network_spread"] == pytest.approx(0, abs=1e-6)
    assert set(lengths["particle_type"].to_list()) == {"A"} and set(rows["particle_type"].to_list()) == {"A"}
    # random fields on the same lattice sites: independent sites with p = 1/2, ℓ_ch ≈ 2 σ (16-site periodic rows)
    reference = _value(lengths, source="random_field", target_cb=0.8)
    assert reference["value"] == pytest.approx(2.0, abs=0.15) and reference["value"] < CHORD_ML
    assert checks["chord_above_random_field"].passed
    cold = materialize_templates(
        [DYNAMIC_HETEROGENEITY], instance=instance, resources=resources,
        partition_key=MultiPartitionKey({"system": SYSTEM, "temperature": repr(T_COLD)}),
    )
    below = {c.check_name: c for c in cold.get_asset_check_evaluations()}["chord_above_random_field"]
    assert not below.passed and "ml ⟨C_B⟩ = 0.6" in below.description and "ml ⟨C_B⟩ = 0.8" not in below.description
    # MD χ4(t): two replicas per configuration, so the full χ4 is the variance over the 16 pooled trajectories
    pooled = fields["trajectories"].reshape(2 * N_CONF, N).mean(axis=1)
    full = _value(rows, source="md", observable="chi4_full", time=5.0)
    assert full["value"] == pytest.approx(N * pooled.var(), rel=1e-6)
    assert full["value"] > _value(rows, source="md", observable="chi4", time=5.0)["value"]
    assert rows.filter((pl.col("time") == 0.0) & (pl.col("observable") == "chi4_normalised")).height == 0  # 0/0

    with pytest.raises(Failure, match="ChampionMissingError: the registry has no champion of tglassmlp_ka2d_ternary"):
        materialize_templates([ATTENTION_LENGTHS], instance=instance, resources=resources, partition_key=SYSTEM)
    ensemble, feature_lengths = _register_tiny_tglassmlp(resources, monkeypatch)
    store.replace_partition(
        {"system": SYSTEM, "temperature": T},
        {"prediction_state_points": pl.DataFrame(
            {"system": SYSTEM, "temperature": T, "target_cb": [0.99], "achieved_cb": [0.99],
             "state_input_cb": [0.875], "iterations": [2], "n_networks": [2], "n_configurations": [N_CONF],
             "model_version": ["1"], "member_state_input_cb": [[0.9, 0.85]]})},
    )  # fmt: skip
    attention = materialize_templates([ATTENTION_LENGTHS], instance=instance, resources=resources, partition_key=SYSTEM)
    assert all(c.passed for c in attention.get_asset_check_evaluations())
    distributions = store.query("SELECT * FROM attention_distributions ORDER BY coarse_graining_length")
    assert distributions.height == 2 * 2 * 3  # 2 temperatures × 2 targets (tiny profile) × 3 lengths
    point = distributions.filter((pl.col("temperature") == T) & (pl.col("target_cb") == 0.99))
    assert point["state_input_cb"].unique().to_list() == [0.875]  # the predictions' self-consistent inputs
    weights = np.concatenate([ensemble.attention_weights(T, c)[k : k + 1] for k, c in enumerate((0.9, 0.85))])
    # by hand: each network at its own iterated input [J], mean over the descriptors of each L, normalised
    per_length = np.stack([weights[:, feature_lengths == length].mean(axis=1) for length in (0.0, 1.0, 2.0)], 1)
    by_hand = per_length / per_length.sum(axis=1, keepdims=True)
    np.testing.assert_allclose(point["probability"].to_numpy(), by_hand.mean(axis=0), rtol=1e-6)
    row = _value(store.query("SELECT * FROM dynamic_lengths WHERE length = 'attention'"), temperature=T, target_cb=0.99)
    assert row["value"] == pytest.approx(float((by_hand @ [0.0, 1.0, 2.0]).mean()), rel=1e-6)
    assert row["stderr"] == pytest.approx(float((by_hand @ [0.0, 1.0, 2.0]).std(ddof=1)), rel=1e-5)

    store.replace_partition(  # the other asset's ξ4 rows at T only: one resolved, one not
        {"system": SYSTEM, "temperature": T, "length": "xi4"},
        {"dynamic_lengths": pl.DataFrame(
            {"system": SYSTEM, "temperature": T, "target_cb": [0.8, 0.6], "source": "ml", "length": "xi4",
             "value": [3.0, None], "stderr": [0.4, None], "n_configurations": [4, 4], "fit_q_min": [0.1, 0.1],
             "fit_q_max": [1.0, 1.0], "resolved": [True, False], "reason": [None, "no small-q plateau"]})},
    )  # fmt: skip
    summary = materialize_templates(
        [HETEROGENEITY_SUMMARY], instance=instance, resources=resources, partition_key=SYSTEM
    )
    checks = {c.check_name: c for c in summary.get_asset_check_evaluations()}
    missing = checks["every_length_present"]
    assert not missing.passed and missing.metadata["missing"].value == [f"xi4 at T = [{T_COLD}]"]
    # an unresolved ξ4 is four_point_structure_factor's warning (small_q_plateau_resolved), listed here, not repeated
    assert "xi4_resolved" not in checks
    metadata = summary.asset_materializations_for_node(f"{SYSTEM}__heterogeneity_summary")[0].metadata
    assert any("no small-q plateau" in line for line in metadata["xi4_unresolved"].value)
    assert metadata["plot"].value.startswith("![") and "chord_md" in metadata["summary"].value
    assert metadata["plot_file"].value.endswith("ka2d_ternary.png")


def _report(instance: DagsterInstance, asset: str, partition: str) -> None:
    instance.report_runless_asset_event(AssetMaterialization(asset_key=asset, partition=partition))


def test_the_heterogeneity_profile_section_is_typed_and_checked(tmp_path):
    assert load_profile("tiny_learning", TINY_PROFILES).heterogeneity.chi4_bootstrap == 50  # inherited from tiny
    assert load_profile("paper").heterogeneity.chord_median_over == "ensemble"
    raw = yaml.safe_load(TINY_PROFILES.read_text())["tiny"]
    raw["heterogeneity"] = {"chord_median_over": "sample"}
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump({"bad": raw}))
    with pytest.raises(ValueError, match="chord_median_over must be one of"):
        load_profile("bad", path)
