"""GlassBench as an outside test: the campaign entry, ``glassbench_samples`` on crafted GlassBench-like files
(64 ka2d_ternary particles at the system density, four replicas; one particle jumps out of its cage) and
``glassbench_scores`` of tiny registered models against their labels."""

import mlflow
import numpy as np
import polars as pl
import pytest
from dagster import DagsterInstance, Failure, MultiPartitionKey

from glass_assets.campaign import load_campaign
from glass_assets.checks import BlockingCheckFailed
from glass_assets.glassbench.assets import GLASSBENCH_SAMPLES, GLASSBENCH_SCORES
from glass_assets.glassbench.scores import (
    BaselineChoice,
    baseline_choices,
    matching_state_point,
    nearest_baseline,
)
from glass_assets.graph import materialize_templates
from glass_assets.propensity_registry import ChampionMissingError, example_input, load_champion, log_ensembles
from glass_assets.tables import configurations
from glass_assets.tracking import MLflowResource
from glass_assets.warehouse import Warehouse
from glass_core.learning.glassmlp import train_glassmlp
from glass_core.learning.mlp_data import PropensityDataset
from glass_core.learning.mlp_settings import MLPTrainingSettings
from glass_core.learning.tglassmlp_training import train_tglassmlp
from glass_core.models.systems import get_system
from glass_core.structure.physics_descriptors import (
    DescriptorSpec,
    physics_inspired_descriptors,
    spec_from_feature_names,
)
from tests.conftest import jittered_lattice, tiny_study

TERNARY = get_system("ka2d_ternary")
N = 64
BOX = TERNARY.box_length(N)
MOVER = 27
JUMP = np.array([3.0, 2.5])  # |JUMP| − 1.4 σ_max = 2.5 > 1.8 σ_max: every bond of the mover breaks
N_REPLICAS = 4
PARTITION = MultiPartitionKey({"system": "ka2d_ternary", "temperature": "0.3"})
TIMES = {"tc04": 158.74, "tc05": 1781.79}  # GlassBench KA2D times at T = 0.30


def crafted(seed: int, moved: int, code: str, inherent: bool = True, box_scale: float = 1.0) -> dict[str, np.ndarray]:
    """A GlassBench-like T = 0.30 file: jittered-lattice start in [−L/2, L/2), ``N_REPLICAS`` replicas with 0.01
    noise, ``MOVER`` displaced by ``JUMP`` in the first ``moved`` replicas; positions stored wrapped."""
    start = jittered_lattice(TERNARY, 8, np.random.default_rng(seed)).positions - BOX / 2
    replicas = start[None] + np.random.default_rng(seed + 100).uniform(-0.01, 0.01, (N_REPLICAS, N, 2))
    replicas[:moved, MOVER] += JUMP
    types = jittered_lattice(TERNARY, 8, np.random.default_rng(seed)).types
    return {
        "positions": (replicas + BOX / 2) % BOX - BOX / 2,
        "initial_positions": start,
        "initial_positions_inherent": start + 0.002 if inherent else np.zeros(0),
        "types": (types + 1).astype(np.int64),
        "box": np.asarray(BOX * box_scale),
        "temperature": np.asarray("0.30"),
        "first_npz_member": np.asarray(f"T0.30/test/N64T0.30_{seed}_{code}.npz"),
    }


def expected_bond_breaking(arrays: dict[str, np.ndarray], moved: int) -> np.ndarray:
    """Independent answer: bonds r < 1.4 σ_ij at t = 0 by numpy; only the mover's bonds break, in ``moved`` of
    ``N_REPLICAS`` replicas: C_B(mover) = 1 − f, C_B(neighbour j) = 1 − f / n_j, everyone else 1."""
    start, types = arrays["initial_positions"], arrays["types"] - 1
    d = start[:, None] - start[None]
    d -= BOX * np.round(d / BOX)
    bonded = (np.linalg.norm(d, axis=-1) < 1.4 * TERNARY.sigma[types[:, None], types[None]]) & ~np.eye(N, dtype=bool)
    fraction = moved / N_REPLICAS
    expected = np.ones(N)
    expected[MOVER] = 1 - fraction
    for j in np.flatnonzero(bonded[MOVER]):
        expected[j] = 1 - fraction / bonded[j].sum()
    return expected


def point_campaign(tmp_path, monkeypatch, folder) -> None:
    campaign = tmp_path / "campaign.yaml"
    campaign.write_text(
        f"systems:\n  ka2d_ternary:\n    glassbench:\n      folder: {folder}\n      temperatures: [0.3]\n"
    )
    monkeypatch.setenv("GLASS_CAMPAIGN", str(campaign))


@pytest.fixture
def glassbench(tiny_resources, tmp_path, monkeypatch):
    folder = tmp_path / "glassbench"
    folder.mkdir()
    point_campaign(tmp_path, monkeypatch, folder)
    instance = DagsterInstance.ephemeral()
    return folder, instance, dict(tiny_resources), Warehouse(tiny_resources["warehouse"].path)


def _glassbench_rows(store: Warehouse) -> int:
    return store.query(
        "SELECT (SELECT count(*) FROM samples WHERE ensemble LIKE 'glassbench%') "
        "+ (SELECT count(*) FROM glassbench_labels) AS n"
    )["n"][0]


# ---------------------------------------------------------------------------------------------- campaign
def test_campaign_names_a_missing_folder_or_temperature(tmp_path):
    (tmp_path / "gb").mkdir()
    np.savez(tmp_path / "gb" / "x.npz", **crafted(1, 2, "tc04"))
    campaign = tmp_path / "c.yaml"
    body = "systems:\n  {system}:\n    glassbench: {{folder: {folder}, temperatures: [{t}]}}\n"
    campaign.write_text(body.format(system="ka2d_ternary", folder=tmp_path / "nowhere", t=0.3))
    with pytest.raises(ValueError, match="GlassBench folder .*nowhere does not exist"):
        load_campaign(campaign)
    campaign.write_text(body.format(system="ka2d_ternary", folder="gb", t=0.23))  # relative to the campaign file
    with pytest.raises(ValueError, match=r"gb has no .npz file at T = 0.23.*'x.npz'"):
        load_campaign(campaign)
    campaign.write_text(body.format(system="kam", folder="gb", t=0.3))
    with pytest.raises(ValueError, match="hold ka2d_ternary configurations, not kam"):
        load_campaign(campaign)
    campaign.write_text(body.format(system="ka2d_ternary", folder="gb", t=0.3) + "    swap_mc: [0.4]\n")
    loaded = load_campaign(campaign)
    assert loaded.for_stage("glassbench") == [("ka2d_ternary", "0.3")] and loaded.for_stage("swap_mc")
    assert loaded.glassbench_folder("ka2d_ternary") == tmp_path / "gb"


def test_glassbench_samples_labels_and_a_malformed_file(glassbench):
    folder, instance, resources, store = glassbench
    files = {"a_tc04.npz": crafted(1, 2, "tc04", inherent=False), "a_tc05.npz": crafted(1, 4, "tc05", inherent=False)}
    files["b_tc04.npz"] = crafted(2, 2, "tc04")
    for name, arrays in files.items():
        np.savez(folder / name, **arrays)
    np.savez(folder / "bad_file.npz", **dict(crafted(3, 2, "tc04"), positions=np.zeros((N_REPLICAS, N - 1, 2))))
    with pytest.raises(Failure, match=r"GlassBenchFormatError: .*bad_file.npz.*'positions'"):
        materialize_templates([GLASSBENCH_SAMPLES], instance=instance, resources=resources, partition_key=PARTITION)
    assert _glassbench_rows(store) == 0  # nothing written
    (folder / "bad_file.npz").unlink()
    np.savez(folder / "z_first_npz_copy.npz", **files["a_tc04.npz"])  # an exact copy is read once

    result = materialize_templates(
        [GLASSBENCH_SAMPLES], instance=instance, resources=resources, partition_key=PARTITION
    )
    assert result.success
    blocking = {"labels_in_unit_interval", "one_composition", "box_matches_density", "equilibria_without_overlaps"}
    evaluations = {c.check_name: c.passed for c in result.get_asset_check_evaluations()}
    assert all(evaluations[name] for name in blocking | {"inherent_without_overlaps", "composition_of_the_system"})

    samples = store.query("SELECT * FROM samples WHERE ensemble LIKE 'glassbench%' ORDER BY ensemble, sample")
    assert samples.height == 4 and samples["n_particles"].to_list() == [N] * 4  # 2 structures × (start, minimum)
    energy = {(r["ensemble"], r["sample"]): r["energy_per_particle"] for r in samples.iter_rows(named=True)}
    assert energy[("glassbench_inherent", 0)] < energy[("glassbench", 0)] - 0.1  # minimised here by LAMMPS
    key = {"system": "ka2d_ternary", "temperature": 0.3, "ensemble": "glassbench_inherent"}
    inherent = configurations(store.read_partition("samples", key), store.read_partition("particles", key))
    from_file = files["b_tc04.npz"]["initial_positions_inherent"]
    np.testing.assert_allclose(inherent[1].minimum_image(inherent[1].positions - from_file), 0, atol=1e-12)

    labels = store.query("SELECT * FROM glassbench_labels ORDER BY sample, time, particle")
    assert labels.height == 3 * N and labels["n_replicas"].unique().to_list() == [N_REPLICAS]
    for sample, name, moved in ((0, "a_tc04.npz", 2), (0, "a_tc05.npz", 4), (1, "b_tc04.npz", 2)):
        code = name[2:6]
        rows = labels.filter((pl.col("sample") == sample) & (pl.col("time") == TIMES[code]))
        expected = expected_bond_breaking(files[name], moved)
        np.testing.assert_allclose(rows["propensity"].to_numpy(), expected, atol=1e-12)
        assert rows["mean_bond_breaking"][0] == pytest.approx(expected.mean())
    assert labels.filter((pl.col("particle") == MOVER) & (pl.col("time") == TIMES["tc05"]))["propensity"][0] == 0.0


def test_a_file_at_another_density_fails_a_blocking_check_and_writes_nothing(glassbench):
    folder, instance, resources, store = glassbench
    np.savez(folder / "dense_tc04.npz", **crafted(1, 2, "tc04", box_scale=0.97))
    with pytest.raises(BlockingCheckFailed, match="box_matches_density.*nothing written|nothing written.*box_matches"):
        materialize_templates([GLASSBENCH_SAMPLES], instance=instance, resources=resources, partition_key=PARTITION)
    assert _glassbench_rows(store) == 0


# ---------------------------------------------------------------------------------------------- scores
def test_score_helpers():
    spec = spec_from_feature_names(DescriptorSpec(lengths=(0.0, 1.5, 3.0)).feature_names(3), 3)
    assert spec.lengths == (0.0, 1.5, 3.0)
    with pytest.raises(ValueError, match="not the descriptor grid"):
        spec_from_feature_names(["DEN_A_L0", "EPOT_A_L0"], 3)
    rows = pl.DataFrame(
        {
            "predictor": ["best_descriptor:EPOT_A_L2(−)", "best_descriptor:DEN_all_L1(+)", "tglassmlp"],
            "split": ["test", "test", "test"],
            "temperature": [0.5, 0.4, 0.4],
            "target_cb": [0.8, 0.8, 0.8],
        }
    )
    choices = baseline_choices(rows)
    assert choices == [BaselineChoice(0.4, 0.8, "DEN_all_L1", 1.0), BaselineChoice(0.5, 0.8, "EPOT_A_L2", -1.0)]
    assert nearest_baseline(choices, 0.75).temperature == 0.4  # equal ⟨C_B⟩ distance: the lower temperature
    assert matching_state_point([(0.3, 0.97), (0.3, 0.5), (0.4, 0.98)], 0.3, 0.985) == (0.3, 0.97)
    assert matching_state_point([(0.4, 0.98)], 0.3, 0.98) is None


def _register_tiny_models(
    tracking: MLflowResource, names: list[str], features: np.ndarray, types: np.ndarray, labels: np.ndarray, cb: float
) -> tuple[str, str]:
    """A tiny tGlassMLP (state points (0.5, 0.97), (0.3, 0.99)) and a GlassMLP at (0.3, cb), both champions."""
    settings = MLPTrainingSettings.from_mapping(
        {
            "preset": "demo",
            "glassmlp_schedule": [[3, 0.005]],
            "tglass_mse_schedule": [[2, 0.01]],
            "tglass_glassmlp_schedule": [[2, 0.001]],
            "n_glassmlp_networks": 1,
            "n_networks": 2,
            "n_networks_equal_cb": 1,
        }
    )
    n = len(labels)
    configuration = np.arange(n) // N

    def dataset(temperature: float, target: float) -> PropensityDataset:
        return PropensityDataset(features, types, configuration, np.full(n, temperature), np.full(n, target), labels)

    train = dataset(0.5, 0.97)
    train = PropensityDataset(
        *(
            np.concatenate([a, b])
            for a, b in zip(
                (train.features, train.types, train.configuration, train.temperature, train.target_cb, train.labels),
                (features, types, configuration + 2, np.full(n, 0.3), np.full(n, 0.99), labels),
                strict=True,
            )
        )
    )
    tglass = train_tglassmlp(train, train, None, settings, feature_names=names, n_types=3).ensemble
    glass = train_glassmlp(dataset(0.3, cb), dataset(0.3, cb), settings, feature_names=names, n_types=3)
    client = tracking.activate()
    versions = []
    for name, ensembles in (("tglassmlp_ka2d_ternary", {None: tglass}), ("glassmlp_ka2d_ternary", {(0.3, cb): glass})):
        state = np.column_stack([np.full(4, 0.3), np.full(4, cb)])
        with mlflow.start_run():
            version = log_ensembles(ensembles, example_input(names, features[:4], types[:4], state), name)
        client.set_registered_model_alias(name, "champion", version)
        versions.append(version)
    return versions[0], versions[1]


def test_glassbench_scores_of_registered_models(glassbench, tmp_path):
    folder, instance, resources, store = glassbench
    np.savez(folder / "a_tc04.npz", **crafted(1, 2, "tc04"))
    np.savez(folder / "a_tc05.npz", **crafted(1, 4, "tc05"))
    np.savez(folder / "b_tc04.npz", **crafted(2, 2, "tc04"))
    resources["study"] = tiny_study(tmp_path, "tiny_learning")
    assert materialize_templates(
        [GLASSBENCH_SAMPLES], instance=instance, resources=resources, partition_key=PARTITION
    ).success
    with pytest.raises(ChampionMissingError, match="no champion of tglassmlp_ka2d_ternary"):
        materialize_templates([GLASSBENCH_SCORES], instance=instance, resources=resources, partition_key=PARTITION)

    key = {"system": "ka2d_ternary", "temperature": 0.3, "ensemble": "glassbench_inherent"}
    inherent = configurations(store.read_partition("samples", key), store.read_partition("particles", key))
    spec = DescriptorSpec(lengths=(0.0, 1.0, 2.0))
    names = spec.feature_names(3)
    features = {s: physics_inspired_descriptors(c, TERNARY, spec) for s, c in sorted(inherent.items())}
    labels = store.query("SELECT * FROM glassbench_labels ORDER BY time, sample, particle")
    early = labels.filter(pl.col("time") == TIMES["tc04"])
    y = early["propensity"].fill_null(np.nan).to_numpy()
    x, types = np.concatenate([features[0], features[1]]), early["type"].to_numpy()
    cb = float(np.nanmean(y))
    late_cb = labels.filter(pl.col("time") == TIMES["tc05"])["propensity"].mean()
    glass_cb = round(cb + 0.012, 4)  # GlassMLP state point within ±0.02 of t = 158.74's ⟨C_B⟩, not of t = 1781.79's
    assert abs(glass_cb - late_cb) > 0.02
    tglass_version, glass_version = _register_tiny_models(
        resources["mlflow_tracking"], names, x, types, np.nan_to_num(y, nan=1.0), glass_cb
    )
    baseline = {
        "system": "ka2d_ternary",
        "model_name": "tglassmlp_ka2d_ternary",
        "model_version": tglass_version,
        "split": "test",
        "subset": "all",
        "pearson": 0.5,
        "stderr": 0.1,
        "n_configurations": 2,
    }
    store.replace_partition(
        {"system": "ka2d_ternary", "model_name": "tglassmlp_ka2d_ternary", "model_version": tglass_version},
        {
            "mlp_scores": pl.DataFrame(
                [
                    {**baseline, "predictor": "best_descriptor:DEN_all_L1(−)", "temperature": 0.5, "target_cb": 0.97},
                    {**baseline, "predictor": "best_descriptor:EPOT_A_L2(+)", "temperature": 0.5, "target_cb": 0.5},
                ]
            )
        },
    )

    result = materialize_templates([GLASSBENCH_SCORES], instance=instance, resources=resources, partition_key=PARTITION)
    assert result.success
    scores = store.query("SELECT * FROM mlp_scores WHERE split = 'glassbench' ORDER BY time, predictor, subset")
    assert set(scores["time"].to_list()) == set(TIMES.values())
    assert set(scores["predictor"].to_list()) == {"tglassmlp", "best_descriptor:DEN_all_L1(−)", "glassmlp"}
    assert scores.filter(pl.col("predictor") == "glassmlp")["time"].unique().to_list() == [TIMES["tc04"]]
    assert scores.filter(pl.col("predictor") == "glassmlp")["model_version"][0] == str(glass_version)
    assert store.query("SELECT count(*) n FROM mlp_scores WHERE split = 'test'")["n"][0] == 2  # untouched

    # the baseline at t = 158.74, all particles, recomputed with numpy: −DEN_all(L=1) against the labels per structure
    column = names.index("DEN_all_L1")
    by_structure = [
        np.corrcoef(
            -x[k * N : (k + 1) * N, column][np.isfinite(y[k * N : (k + 1) * N])],
            y[k * N : (k + 1) * N][np.isfinite(y[k * N : (k + 1) * N])],
        )[0, 1]
        for k in (0, 1)
    ]
    row = scores.filter(
        (pl.col("predictor").str.starts_with("best")) & (pl.col("time") == TIMES["tc04"]) & (pl.col("subset") == "all")
    )
    assert row["pearson"][0] == pytest.approx(np.mean(by_structure), abs=1e-5)
    assert row["stderr"][0] == pytest.approx(np.std(by_structure, ddof=1) / np.sqrt(2), abs=1e-5)
    assert row["target_cb"][0] == pytest.approx(cb) and row["n_configurations"][0] == 2
    # the champion tGlassMLP, loaded from the registry and iterated at (0.3, measured ⟨C_B⟩) here, scored with numpy
    ensembles, _ = load_champion(resources["mlflow_tracking"].activate(), "tglassmlp_ka2d_ternary")
    training = MLPTrainingSettings.from_mapping(resources["study"].load().propensity_learning.training)
    predicted = ensembles[None].predict(x, types, 0.3, cb, training.max_iterations, training.tolerance).mean
    labelled = np.isfinite(y)
    mine = [
        np.corrcoef(
            predicted[k * N : (k + 1) * N][labelled[k * N : (k + 1) * N]],
            y[k * N : (k + 1) * N][labelled[k * N : (k + 1) * N]],
        )[0, 1]
        for k in (0, 1)
    ]
    row = scores.filter(
        (pl.col("predictor") == "tglassmlp") & (pl.col("time") == TIMES["tc04"]) & (pl.col("subset") == "all")
    )
    assert row["pearson"][0] == pytest.approx(np.mean(mine), abs=1e-5)
    late = scores.filter(pl.col("time") == TIMES["tc05"])
    assert late["n_configurations"].to_list() == [1] * late.height and late["stderr"].is_null().all()  # one structure
