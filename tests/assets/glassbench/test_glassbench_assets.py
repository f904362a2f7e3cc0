"""GlassBench as an outside test: the campaign entry, ``glassbench_samples`` on crafted GlassBench-like files
(64 ka2d_ternary particles at the system density, four replicas; one particle jumps out of its cage) and
``glassbench_scores`` of tiny registered models against their labels."""

from types import SimpleNamespace

import duckdb
import mlflow
import numpy as np
import polars as pl
import pytest
from dagster import DagsterInstance, Failure, MultiPartitionKey

from glass_assets.campaign import load_campaign
from glass_assets.checks import BlockingCheckFailed, coefficients_in_range
from glass_assets.glassbench.assets import GLASSBENCH_SAMPLES, GLASSBENCH_SCORES
from glass_assets.glassbench.checks import (
    labels_in_unit_interval,
    pearson_in_range,
    predictions_reach_measured_state_point,
    undefined_scores_have_a_reason,
)
from glass_assets.glassbench.scores import (
    SCORE_SCHEMA,
    BaselineChoice,
    baseline_choices,
    descriptor_grid,
    feature_columns,
    matching_state_point,
    model_particle_types,
    nearest_baseline,
    recomputable,
    score_frame,
    score_rows,
    score_subsets,
)
from glass_assets.graph import materialize_templates
from glass_assets.registry.propensity import example_input, load_champion_ensembles, log_ensembles
from glass_assets.registry.tracking import MLflowResource
from glass_assets.tables import configurations
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
from tests.helpers.configurations import gaussian_jittered_lattice
from tests.helpers.studies import tiny_study

TERNARY = get_system("ka2d_ternary")
N = 64
BOX = TERNARY.box_length(N)
MOVER = 27
JUMP = np.array([3.0, 2.5])  # |JUMP| − 1.4 σ_max = 2.5 > 1.8 σ_max: every bond of the mover breaks
N_REPLICAS = 4
PARTITION = MultiPartitionKey({"system": "ka2d_ternary", "temperature": "0.3"})
TIMES = {"tc04": 158.74, "tc05": 1781.79}  # GlassBench KA2D times at T = 0.30


def crafted(
    seed: int,
    moved: int,
    code: str,
    inherent: bool = True,
    box_scale: float = 1.0,
    temperature: str = "0.30",
    structure: int | None = None,
) -> dict[str, np.ndarray]:
    """A GlassBench-like file at ``temperature``: jittered-lattice start in [−L/2, L/2), ``N_REPLICAS`` replicas with
    0.01 noise, ``MOVER`` (type A for seeds 1–3) displaced by ``JUMP`` in the first ``moved`` replicas (``moved`` = 0:
    no bond breaks, every label is exactly 1); positions stored wrapped; the GlassBench member names ``structure``
    (default: the seed) and the time code."""
    start = gaussian_jittered_lattice(TERNARY, 8, np.random.default_rng(seed)).positions - BOX / 2
    replicas = start[None] + np.random.default_rng(seed + 100).uniform(-0.01, 0.01, (N_REPLICAS, N, 2))
    replicas[:moved, MOVER] += JUMP
    types = gaussian_jittered_lattice(TERNARY, 8, np.random.default_rng(seed)).types
    return {
        "positions": (replicas + BOX / 2) % BOX - BOX / 2,
        "initial_positions": start,
        "initial_positions_inherent": start + 0.002 if inherent else np.zeros(0),
        "types": (types + 1).astype(np.int64),
        "box": np.asarray(BOX * box_scale),
        "temperature": np.asarray(temperature),
        "first_npz_member": np.asarray(f"T{temperature}/test/N64T{temperature}_{structure or seed}_{code}.npz"),
        "npz_member_md5": np.asarray("0" * 32),
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


def point_campaign(tmp_path, monkeypatch, folder, temperatures: str = "[0.3]") -> None:
    campaign = tmp_path / "campaign.yaml"
    campaign.write_text(
        f"systems:\n  ka2d_ternary:\n    glassbench:\n      folder: {folder}\n      temperatures: {temperatures}\n"
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
    tracking: MLflowResource,
    names: list[str],
    features: np.ndarray,
    types: np.ndarray,
    labels: np.ndarray,
    cb: float,
    glass_temperature: float = 0.3,
    particle_types: tuple[int, ...] | None = None,
) -> tuple[str, str]:
    """A tiny tGlassMLP (state points (0.5, 0.97), (0.3, 0.99)) and a GlassMLP at (``glass_temperature``, cb), both
    champions, on the columns ``names`` of ``features`` and the ``particle_types`` (None: every type)."""
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
    tglass = train_tglassmlp(train, train, None, settings, feature_names=names, n_types=3,
                             particle_types=particle_types).ensemble
    at = (glass_temperature, cb)
    glass = train_glassmlp(dataset(*at), dataset(*at), settings, feature_names=names, n_types=3,
                           particle_types=particle_types)
    client = tracking.activate()
    versions = []
    for name, ensembles in (("tglassmlp_ka2d_ternary", {None: tglass}), ("glassmlp_ka2d_ternary", {at: glass})):
        state = np.column_stack([np.full(4, glass_temperature), np.full(4, cb)])
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
    with pytest.raises(Failure, match="ChampionMissingError: the registry has no champion of tglassmlp_ka2d_ternary"):
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
    ensembles, _ = load_champion_ensembles(resources["mlflow_tracking"].activate(), "tglassmlp_ka2d_ternary")
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


# ---------------------------------------------------------------------------------------------- the public cache
T023 = MultiPartitionKey({"system": "ka2d_ternary", "temperature": "0.23"})
TIMES_023 = {"tc05": 0.1, "tc10": 1.1, "tc15": 11.64}  # GlassBench KA2D times at T = 0.23
TC01_030 = 0.11  # tc01 at T = 0.30


def public_cache_layout(folder) -> dict[str, dict[str, np.ndarray]]:
    """Crafted files named and keyed as the public cache (cc-chen-tech/renewal-cage-arxiv, particle_cache) holds
    GlassBench: at T = 0.23 structure 151 at tc05 (no bond breaks: every label exactly 1, as at GlassBench's t = 0.1),
    tc10 and tc15, structure 202 at tc05 only under the cache's '…_first_npz_…' name (its time only in
    'first_npz_member'), and 151's tc15 again under a second name; at T = 0.30 structure 3 at tc01 (labels all 1, no
    inherent structure) under two names, as in the cache."""
    files = {
        "glassbench_ka2d_T0_23_N64T0.23_151_tc05_positions.npz": crafted(
            1, 0, "tc05", temperature="0.23", structure=151
        ),
        "glassbench_ka2d_T0_23_N64T0.23_151_tc10_positions.npz": crafted(
            1, 1, "tc10", temperature="0.23", structure=151
        ),
        "glassbench_ka2d_T0_23_N64T0.23_151_tc15_positions.npz": crafted(
            1, 3, "tc15", temperature="0.23", structure=151
        ),
        "glassbench_ka2d_T0_23_first_npz_positions.npz": crafted(2, 0, "tc05", temperature="0.23", structure=202),
        "glassbench_ka2d_T0_30_N64T0.30_3_tc01_positions.npz": crafted(3, 0, "tc01", inherent=False),
    }
    files["glassbench_ka2d_T0_23_second_copy_positions.npz"] = files[
        "glassbench_ka2d_T0_23_N64T0.23_151_tc15_positions.npz"
    ]
    files["glassbench_ka2d_T0_30_first_npz_positions.npz"] = files[
        "glassbench_ka2d_T0_30_N64T0.30_3_tc01_positions.npz"
    ]
    for name, arrays in files.items():
        np.savez(folder / name, **arrays)
    return files


def _type_a_pearson(prediction: np.ndarray, labels: np.ndarray, types: np.ndarray) -> float:
    """Independent answer: numpy's Pearson over the type-A particles of one structure."""
    a = types == 0
    return float(np.corrcoef(prediction[a], labels[a])[0, 1])


def test_glassbench_domain_on_the_public_cache_layout(glassbench, tmp_path, monkeypatch):
    """Both temperatures of the cache's layout, samples and scores, with a champion scored on type A only (the
    ``particle_types`` contract) whose columns are a reordered subset of the descriptor grid: constant labels give
    NULL scores with their reason (an all-NULL partition at T = 0.30 included), later times defined scores equal to
    numpy's, each duplicate member counted once."""
    folder, instance, resources, store = glassbench
    point_campaign(tmp_path, monkeypatch, folder, "[0.23, 0.3]")
    public_cache_layout(folder)
    resources["study"] = tiny_study(tmp_path, "tiny_learning")
    for partition in (T023, PARTITION):
        assert materialize_templates(
            [GLASSBENCH_SAMPLES], instance=instance, resources=resources, partition_key=partition
        ).success

    samples = store.query("SELECT temperature, count(*) n FROM samples WHERE ensemble = 'glassbench' GROUP BY 1")
    assert dict(samples.iter_rows()) == {0.23: 2, 0.3: 1}  # duplicates are one structure
    labels = store.query("SELECT * FROM glassbench_labels ORDER BY temperature, time, sample, particle")
    per_time = labels.group_by("temperature", "time").agg(pl.len(), pl.col("sample").n_unique().alias("structures"))
    expected = {(0.23, 0.1): (2 * N, 2), (0.23, 1.1): (N, 1), (0.23, 11.64): (N, 1), (0.3, TC01_030): (N, 1)}
    assert {(r[0], r[1]): (r[2], r[3]) for r in per_time.iter_rows()} == expected  # the copies are not read twice
    first = labels.filter(pl.col("time").is_in([0.1, TC01_030]))
    assert first["propensity"].to_list() == [1.0] * first.height  # no bond breaks before t ≈ 0.1: every label is 1

    # the champion: trained on the T = 0.23 structures, on a reordered subset of the grid (no EPOT_A_L1, no
    # zero-variance column), trained and scored on type A only (its particle_types)
    key = {"system": "ka2d_ternary", "temperature": 0.23, "ensemble": "glassbench_inherent"}
    inherent = configurations(store.read_partition("samples", key), store.read_partition("particles", key))
    spec = DescriptorSpec(lengths=(0.0, 1.0, 2.0))
    grid = spec.feature_names(3)
    full = np.concatenate([physics_inspired_descriptors(inherent[s], TERNARY, spec) for s in (0, 1)])
    names = [n for n, v in zip(grid, full.var(axis=0), strict=True) if v > 1e-5 and n != "EPOT_A_L1"][::-1]
    assert len(names) < len(grid) - 1
    columns = [grid.index(n) for n in names]
    late = labels.filter((pl.col("temperature") == 0.23) & (pl.col("time") == 11.64))["propensity"].to_numpy()
    types = np.concatenate([inherent[s].types for s in (0, 1)])
    glass_cb = round(late.mean() - 0.012, 4)  # a GlassMLP state point within ±0.02 of t = 11.64's ⟨C_B⟩ only
    tglass_version, _ = _register_tiny_models(
        resources["mlflow_tracking"], names, full[:, columns], types, np.tile(late, 2), glass_cb,
        glass_temperature=0.23, particle_types=(0,),
    )
    store.replace_partition(
        {"system": "ka2d_ternary", "model_name": "tglassmlp_ka2d_ternary", "model_version": tglass_version},
        {
            "mlp_scores": pl.DataFrame(
                [
                    {
                        "system": "ka2d_ternary",
                        "model_name": "tglassmlp_ka2d_ternary",
                        "model_version": tglass_version,
                        "predictor": "best_descriptor:EPOT_A_L1(−)",  # a column the champion does not use
                        "temperature": 0.5,
                        "target_cb": 0.97,
                        "split": "test",
                        "subset": "A",
                        "pearson": 0.4,
                        "stderr": 0.05,
                        "n_configurations": 2,
                    }
                ]
            )
        },
    )

    results = {}
    for partition in (T023, PARTITION):
        results[partition] = materialize_templates(
            [GLASSBENCH_SCORES], instance=instance, resources=resources, partition_key=partition
        )
        assert results[partition].success
    scores = store.query("SELECT * FROM mlp_scores WHERE split = 'glassbench' ORDER BY temperature, time, predictor")
    assert set(scores["subset"].to_list()) == {"A"}  # a type-A model: its rows and the baseline's are type A only
    assert set(scores["predictor"].to_list()) == {"tglassmlp", "best_descriptor:EPOT_A_L1(−)", "glassmlp"}
    assert scores.filter(pl.col("predictor") == "glassmlp")["time"].to_list() == [11.64]
    assert store.query("SELECT count(*) n FROM mlp_scores WHERE isnan(pearson) OR isnan(stderr)")["n"][0] == 0

    undefined = scores.filter(pl.col("time").is_in([0.1, TC01_030]))
    assert undefined.height == 4 and undefined["pearson"].is_null().all() and undefined["stderr"].is_null().all()
    assert undefined["n_configurations"].to_list() == [0] * 4
    reasons = dict(zip(undefined["time"].to_list(), undefined["reason"].to_list(), strict=False))
    assert reasons[0.1] == "labels constant (all = 1) in 2 of 2 configurations: Pearson undefined"
    assert reasons[TC01_030] == "labels constant (all = 1) in 1 of 1 configuration: Pearson undefined"
    for result in results.values():
        checks = {c.check_name: c for c in result.get_asset_check_evaluations()}
        assert checks["pearson_in_range"].passed and checks["undefined_scores_have_a_reason"].passed
        metadata = result.asset_materializations_for_node("ka2d_ternary__glassbench_scores")[0].metadata
        assert "labels constant (all = 1)" in metadata["type_a_scores"].value
    all_null = {c.check_name: c for c in results[PARTITION].get_asset_check_evaluations()}["pearson_in_range"]
    # the result names its partition (glass_assets.checks.check_results), then what the check found
    assert all_null.description.endswith("): all 2 scores undefined (NULL with a reason): nothing to correlate")
    assert f"(partition {PARTITION})" in all_null.description, all_null.description

    defined = scores.filter(pl.col("time").is_in([1.1, 11.64]))
    assert defined["pearson"].is_not_null().all() and defined["reason"].is_null().all()
    assert defined["n_configurations"].to_list() == [1] * defined.height  # the tc15 copy is not a second structure
    # independent answers at each defined time: the champion from the registry, the grid recomputed, columns by name
    ensembles, _ = load_champion_ensembles(resources["mlflow_tracking"].activate(), "tglassmlp_ka2d_ternary")
    champion = ensembles[None]
    structure = physics_inspired_descriptors(inherent[0], TERNARY, spec)
    model_x = structure[:, [grid.index(n) for n in champion.input_names]]  # the columns the model reads
    a = inherent[0].types == 0
    training = MLPTrainingSettings.from_mapping(resources["study"].load().propensity_learning.training)
    for time in (1.1, 11.64):
        y = labels.filter((pl.col("temperature") == 0.23) & (pl.col("time") == time))["propensity"].to_numpy()
        at = defined.filter(pl.col("time") == time)
        predicted = champion.predict(model_x[a], inherent[0].types[a], 0.23, y[a].mean(), 6, training.tolerance).mean
        tglass = at.filter(pl.col("predictor") == "tglassmlp")
        assert tglass["pearson"][0] == pytest.approx(float(np.corrcoef(predicted, y[a])[0, 1]), abs=1e-5)
        assert tglass["target_cb"][0] == pytest.approx(y[a].mean())  # the state point: ⟨C_B⟩ of the model's type A
        baseline = at.filter(pl.col("predictor").str.starts_with("best"))["pearson"][0]
        column = -structure[:, grid.index("EPOT_A_L1")]
        assert baseline == pytest.approx(_type_a_pearson(column, y, inherent[0].types), abs=1e-6)  # float32 columns


def test_undefined_scores_are_null_with_a_reason_and_float64():
    """The root of the Null-dtype crash: rows whose every score is undefined still make a Float64 ``pearson``."""
    types = np.array([0, 0, 1, 0, 0, 2])
    sample = np.array([0, 0, 0, 1, 1, 1])
    labels = np.ones(6)
    rows = score_rows("tglassmlp", np.arange(6.0), labels, sample, types, ("A", "all"), 0.3, 1.0, 0.11)
    frame = score_frame(rows, "ka2d_ternary", "tglassmlp_ka2d_ternary", "3")
    assert frame.schema == pl.Schema(SCORE_SCHEMA) and frame["pearson"].dtype == pl.Float64
    assert frame["pearson"].is_null().all() and frame["n_configurations"].to_list() == [0, 0]
    assert frame["reason"].to_list() == ["labels constant (all = 1) in 2 of 2 configurations: Pearson undefined"] * 2
    assert pearson_in_range(frame).passed
    # a prediction missing on the subset's particles (a type the model does not predict) is named, not scored
    partial = np.where(types == 0, np.arange(6.0), np.nan)
    rows = score_rows("glassmlp", partial, 0.5 * np.arange(6.0), sample, types, ("A", "all"), 0.3, 0.8, 1.0)
    assert rows[0]["pearson"] == pytest.approx(1.0) and rows[0]["reason"] is None
    assert rows[1]["pearson"] is None and "particle types [1, 2]" in rows[1]["reason"]
    empty = score_frame([], "ka2d_ternary", "tglassmlp_ka2d_ternary", "3")
    assert empty.height == 0 and empty["pearson"].dtype == pl.Float64


def test_score_checks_handle_an_all_null_column():
    null = pl.DataFrame(
        {"predictor": ["tglassmlp"] * 2, "time": [0.1, 0.1], "subset": ["A", "all"], "pearson": [None, None]}
    )
    assert null["pearson"].dtype == pl.Null
    unexplained = undefined_scores_have_a_reason(null.with_columns(pl.lit(None).alias("reason")))
    assert not unexplained.passed and "NULL score without a reason: tglassmlp at t = 0.1 (A)" in unexplained.description
    explained = null.with_columns(pl.lit("labels constant").alias("reason"))
    assert undefined_scores_have_a_reason(explained).passed
    outcome = pearson_in_range(explained)
    assert outcome.passed and outcome.metadata["null_pearson"] == 2 and outcome.metadata["defined"] == 0
    headless = explained.filter(pl.col("subset") == "all")
    assert "no type-A row: tglassmlp at t = 0.1" in undefined_scores_have_a_reason(headless).description
    bad = pl.DataFrame({"pearson": [0.5, float("nan"), 1.5, None]})
    outcome = pearson_in_range(bad)
    assert not outcome.passed and outcome.description == "1 score(s) outside [−1, 1]; 1 score(s) NaN instead of NULL"
    assert not pearson_in_range(pl.DataFrame({"pearson": []})).passed  # no rows at all is a bug, not a result
    labels = labels_in_unit_interval(pl.DataFrame({"propensity": [None, None]}))
    assert not labels.passed and labels.description == "no particle has a bond-breaking label"
    points = pl.DataFrame({"requested_cb": [1.0, 0.9], "predicted_cb": [None, 0.95]})
    reached = predictions_reach_measured_state_point(points)
    assert not reached.passed and reached.metadata == {
        "max_abs_error": pytest.approx(0.05),
        "tolerance": 0.02,
        "compared": 1,
        "not_predicted": 1,
    }
    # the shared check of every domain: an all-NULL column (or None in a numpy object array) is reported, not raised
    for values in (pl.Series([None, None]), np.array([None, None]), np.array([None, 0.5], dtype=object)):
        outcome = coefficients_in_range(values, "scores")
        assert outcome.metadata["n_undefined"] == 1 + (values[1] is None)
    assert coefficients_in_range(pl.Series([None, None]), "scores").description == "scores: no defined coefficient"


def test_particle_types_feature_columns_and_the_descriptor_grid():
    assert model_particle_types(SimpleNamespace(), 3) == (0, 1, 2)  # saved before particle_types existed
    assert model_particle_types(SimpleNamespace(particle_types=[0]), 3) == (0,)
    assert score_subsets((0, 1, 2), 3) == ("A", "all") and score_subsets((0,), 3) == ("A",)
    names = ["VAR_C_L2.5", "DEN_A_L0", "EPOT_all_L1"]  # a subset of a grid, in the model's order
    spec = descriptor_grid(names, 3)
    assert spec.lengths == (0.0, 1.0, 2.5) and spec.observables == ("DEN", "EPOT", "VAR")
    grid = spec.feature_names(3)
    assert [grid[k] for k in feature_columns(grid, names, "m")] == names
    with pytest.raises(ValueError, match=r"tglassmlp_x v2 needs descriptors .* lacks: \['DEN_D_L0', 'PERI_A_L0'\]"):
        feature_columns(grid, ["DEN_A_L0", "DEN_D_L0", "PERI_A_L0"], "tglassmlp_x v2")
    with pytest.raises(ValueError, match="'FOO_A_L1'.*not recomputable"):
        descriptor_grid(["DEN_A_L0", "FOO_A_L1"], 3)
    assert recomputable("EPOT_A_L2") and not recomputable("ceiling") and not recomputable("FOO_A_L1")


def test_an_older_warehouse_gains_the_reason_column(tmp_path):
    path = tmp_path / "old.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute(
            "CREATE TABLE mlp_scores (system VARCHAR NOT NULL, model_name VARCHAR NOT NULL, model_version VARCHAR NOT "
            "NULL, predictor VARCHAR NOT NULL, temperature DOUBLE NOT NULL, target_cb DOUBLE NOT NULL, split VARCHAR "
            "NOT NULL, subset VARCHAR NOT NULL, pearson DOUBLE, stderr DOUBLE, n_configurations INTEGER NOT NULL)"
        )
        con.execute("INSERT INTO mlp_scores VALUES ('abm', 'm', '1', 'glassmlp', 0.4, 0.9, 'test', 'A', 0.5, 0.1, 3)")
    store = Warehouse(path)
    store.ensure_writable()
    rows = store.query("SELECT pearson, time, reason FROM mlp_scores")
    assert rows.rows() == [(0.5, None, None)]
