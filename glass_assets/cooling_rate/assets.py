"""The cooling-rate study: does [O]'s C(1−Θ,Υ) of ABM glasses depend on how slowly they were quenched?

For each rate γ of the profile's ``cooling_rate_study`` section, independent LAMMPS quenches of N particles from
T_high to T_G (the ``quench`` worker task, the profile's quench protocol with its rate replaced by γ); per glass
the Pearson and Spearman coefficients C(1−Θ̄, Ῡ) of the coarse-grained (ξ) min–max normalised Tong–Tanaka order
and Voronoi area, exactly as ``indicator_correlations`` computes them [O §IV C]
(:func:`glass_core.learning.correlations.theta_upsilon_correlations`); per rate mean ± SE = s/√n and n
over the glasses (:func:`glass_core.models.statistics.sample_mean`), beside [O]'s 0.355 (N = 2000, γ = 8.33×10⁻⁵).

The CNN correlations C(Γ̄, Ῡ) and C(Γ̄, 1−Θ̄): for each input kind of ``cnn_inputs`` one CNN (the profile's ``cnn``
settings, global-average head) is trained on the system's T_L / T_G quenched ensembles and logged to MLflow
(experiment ``cooling_rate_study_cnn``). Its Grad-CAM Γ of the glass class is computed on every glass of every
rate with the same pixel size as in training (the grid grows with the box; the pooled head makes the network
size-independent, [O]'s flatten head would not be) and, on the glasses it classifies as glass, correlated as
``indicator_correlations`` does. No glass of the study is ever a training image, so all of them count.

The classifier gate [O]: Grad-CAM findings come only from a CNN that classifies. Each study CNN's validation
accuracy k/n carries its binomial SE and Wilson interval (2 SE) in MLflow and in ``cooling_rate_cnns``; a CNN
whose Wilson lower end is below the profile's ``cnn.gate_accuracy`` still gives its rows, marked
``classifier_unresolved`` (``paper_value`` NULL), a WARN names its accuracy and n, and the table and plot show
"no Grad-CAM finding" in place of its means: none of them stands beside [O]'s values. The validation split is
checked against the gate before any CNN is trained or any glass quenched. A study that is run again (more glasses, a
resumed run) reuses a CNN logged with the same data, settings and code (MLflow tag ``study_cnn_key``) instead of
training it again, as it reuses the stored glasses.

References: [O] (docs/bibliography.md).
"""

import dataclasses
import hashlib
import json
import shutil
import time
from collections.abc import Mapping
from pathlib import Path

import mlflow
import numpy as np
import polars as pl
import torch
from dagster import AssetExecutionContext, MaterializeResult, MetadataValue
from mlflow import MlflowClient
from mlflow.models import infer_signature

from glass_assets.checks import evaluate_before_commit
from glass_assets.cooling_rate import plots
from glass_assets.cooling_rate.checks import (
    COOLING_RATE_CHECKS,
    RateGlasses,
)
from glass_assets.graph import PER_SYSTEM, SIMULATION_RETRIES, AssetTemplate, Upstream
from glass_assets.launchers import training_scratch
from glass_assets.plots import figure_metadata, stderr_metadata
from glass_assets.profiles import CNNSettings, Profile
from glass_assets.registry.cnn_split import (
    GatedClassifier,
    accuracy_metrics,
    gridding_for,
    labelled_configurations,
    logged_accuracy,
    split_accuracies,
    split_parameters,
    train_with_settings,
)
from glass_assets.registry.tracking import MLflowResource
from glass_assets.registry.training_datasets import image_rows, log_training_datasets
from glass_assets.resources import SimulationLauncher, StudySettings, WarehouseResource, progress_logger
from glass_assets.tables import configurations, particle_rows, sample_row
from glass_assets.versioning import CNN_CODE_VERSION, COOLING_RATE_CODE_VERSION, code_version_tag
from glass_assets.warehouse import Warehouse, ensemble_key
from glass_core.learning.classifier_gate import CLASSIFIER_UNRESOLVED
from glass_core.learning.cnn import GLASS, LIQUID, GlassCNN, deterministic_split, evaluate
from glass_core.learning.correlations import (
    OYAMA_COOLING_RATE,
    OYAMA_GLASS_MEANS,
    STRUCTURAL_PAIR,
    theta_upsilon_correlations,
)
from glass_core.learning.grad_cam import cnn_glass_correlations
from glass_core.models.configuration import Configuration
from glass_core.models.seeds import derive_seed
from glass_core.models.statistics import Accuracy, sample_mean
from glass_core.models.systems import ModelSystem, get_system
from glass_core.simulation.quench import QuenchProtocol, QuenchResult, hold_mean_temperature
from glass_core.structure.gridding import Gridding
from glass_core.structure.indicators import structural_indicators

EXPERIMENT = "cooling_rate_study_cnn"


def rate_ensemble(rate: float) -> str:
    """Ensemble name of the glasses quenched at ``rate`` in ``samples``/``particles``: ``quenched_rate_0.002``."""
    return f"quenched_rate_{rate:g}"


@dataclasses.dataclass(frozen=True)
class StudyCNN:
    """A liquid/glass CNN of one input kind trained for the study, with the gridding of its training box, its
    accuracies (k of n per subset and class: ``validation``, ``validation_glass``, ``test``, …) and the gate's
    verdict on its validation accuracy."""

    input_kind: str
    model: GlassCNN
    gridding: Gridding
    box_length: float
    accuracies: dict[str, Accuracy]
    classifier: GatedClassifier
    run_id: str
    n_particles: int = 0

    @property
    def validation_accuracy(self) -> float:
        return self.accuracies["validation"].value

    @property
    def test_accuracy(self) -> float:
        return self.accuracies["test"].value

    def gridding_at_box(self, box_length: float) -> Gridding:
        """The CNN's image map M for a square box of side ``box_length``: the training pixel size, grid G·L/L_train."""
        return self.gridding.at_box(self.box_length, box_length)


def train_study_cnns(
    context: AssetExecutionContext,
    profile: Profile,
    store: Warehouse,
    mlflow_tracking: MLflowResource,
    system: str,
    simulation: SimulationLauncher,
    scratch_dir: str,
) -> list[StudyCNN]:
    """One CNN per ``cnn_inputs`` kind on the T_L / T_G quenched ensembles, each an MLflow run (not registered:
    an instrument of this study, not a champion candidate)."""
    kinds = profile.cooling_rate_study.cnn_inputs
    if not kinds:
        return []
    configs, labels, samples, keys = labelled_configurations(store, system)
    split = deterministic_split(samples, profile.cnn.split_fractions, profile.cnn.seed)
    # bad input stops here, before any CNN is trained or glass quenched: a validation split that cannot pass the gate
    profile.cnn.gate.check_split(
        int(np.sum(labels[split.validation] == LIQUID)),
        int(np.sum(labels[split.validation] == GLASS)),
        where=(
            f"the study CNNs' validation split ({len(set(samples.tolist()))} quench runs of {system}, N = "
            f"{configs[0].n_particles}, cnn.split_fractions {list(profile.cnn.split_fractions)})"
        ),
    )
    study_n = profile.cooling_rate_study.n_particles
    if configs[0].n_particles != study_n:
        context.log.warning(
            f"the study CNNs train on the quench stage's N = {configs[0].n_particles} configurations of {system}, the "
            f"study's glasses hold N = {study_n}: Grad-CAM reads boxes unlike those it was trained on ([O] trains and "
            "explains at one size; the validation profile quenches the stage at the study's N)"
        )
    client = mlflow_tracking.activate()
    experiment_id = mlflow_tracking.experiment_id(EXPERIMENT)
    digest = configurations_digest(configs)
    cnns = []
    for kind in kinds:
        cnn = dataclasses.replace(profile.cnn, input_kind=kind, head="gap")
        gridding = gridding_for(system, cnn)
        key = study_cnn_key(system, cnn, digest)
        logged = _logged_study_cnn(client, experiment_id, key)
        if logged is not None:  # the same network: the training is deterministic for its data, settings and code
            model, accuracies, run_id = logged
            classifier = GatedClassifier(accuracies["validation"], cnn.gate, f"study CNN {kind}")
            context.log.info(
                f"study CNN {kind}: reusing MLflow run {run_id}, trained on the same configurations with the same "
                f"settings and code: validation accuracy {accuracies['validation'].text()}"
            )
            if not classifier.resolved:
                context.log.warning(f"{classifier.describe()}: {classifier.no_finding()}")
            box = float(configs[0].box[0])
            cnns.append(StudyCNN(kind, model, gridding, box, accuracies, classifier, run_id, configs[0].n_particles))
            continue
        images = gridding.images(configs)
        started = time.perf_counter()
        with mlflow.start_run(experiment_id=experiment_id, run_name=f"{system}-{kind}-{context.run.run_id[:8]}") as run:
            mlflow.set_tags(
                {
                    "system": system,
                    "profile": profile.name,
                    "dagster_run_id": context.run.run_id,
                    STUDY_CNN_KEY_TAG: key,
                }
            )
            mlflow.log_params(
                {
                    "input_kind": kind,
                    "head": cnn.head,
                    "grid": cnn.grid,
                    "kernel_width": cnn.kernel_width,
                    "epochs": cnn.epochs,
                    "batch_size": cnn.batch_size,
                    "learning_rate": cnn.learning_rate,
                    "validate_every": cnn.validate_every,
                    "n_particles": configs[0].n_particles,
                    "n_train": len(split.train),
                    "n_validation": len(split.validation),
                    "n_test": len(split.test),
                    "gate_accuracy": cnn.gate_accuracy,
                    **split_parameters(cnn),
                }
            )
            frames, queries = image_rows(system, keys, labels, split)  # the quenched configurations of the images
            log_training_datasets(frames, name=f"cnn_images_{system}", source=store.path, queries=queries,
                                  targets="label")
            def progress(record, kind=kind, cnn=cnn) -> None:  # noqa: ANN001 - glass_core.learning.cnn.EpochRecord
                if record.epoch % 10 == 0 or record.epoch == cnn.epochs:
                    context.log.info(
                        f"study CNN {kind}: epoch {record.epoch}/{cnn.epochs}, loss {record.train_loss:.4f}, "
                        f"train accuracy {record.train_accuracy:.3f}, validation accuracy "
                        f"{record.validation_accuracy:.3f}"
                    )
                    mlflow.log_metrics(
                        {
                            k: v
                            for k, v in (
                                ("train_loss", record.train_loss),
                                ("train_accuracy", record.train_accuracy),
                                ("validation_accuracy_epoch", record.validation_accuracy),
                            )
                            if np.isfinite(v)
                        },
                        step=record.epoch,
                    )

            scratch = training_scratch(scratch_dir, "cooling_rate_study", f"{system}_{kind}")
            launched = train_with_settings(simulation, scratch, profile.compute, images, labels, split, cnn, progress,
                                           context.log)
            mlflow.log_params({"device": launched.device, "training_threads": launched.threads})
            trained = launched.result
            validation = evaluate(trained.model, images[split.validation], labels[split.validation])
            test = evaluate(trained.model, images[split.test], labels[split.test])
            accuracies = split_accuracies(validation, "validation") | split_accuracies(test, "test")
            classifier = GatedClassifier(accuracies["validation"], cnn.gate, f"study CNN {kind}")
            seconds = time.perf_counter() - started
            mlflow.log_metrics(
                accuracy_metrics(accuracies) | {"classifier_resolved": float(classifier.resolved), "seconds": seconds}
            )
            mlflow.set_tag("classifier_status", classifier.status)
            example = images[split.test[:2]]
            signature = infer_signature(example, trained.model(torch.from_numpy(example)).detach().numpy())
            mlflow.pytorch.log_model(trained.model, name="model", signature=signature, serialization_format="pickle")
        context.log.info(
            f"study CNN {kind} (N = {configs[0].n_particles}, {len(split.train)} training images, {seconds:.0f} s): "
            f"validation accuracy {accuracies['validation'].text()}, test accuracy {accuracies['test'].text()}"
        )
        if not classifier.resolved:
            context.log.warning(f"{classifier.describe()}: {classifier.no_finding()}")
        cnns.append(
            StudyCNN(
                kind,
                trained.model,
                gridding,
                float(configs[0].box[0]),
                accuracies,
                classifier,
                run.info.run_id,
                configs[0].n_particles,
            )
        )
    return cnns


#: MLflow tag of a study CNN's run: what determines the trained network (:func:`study_cnn_key`)
STUDY_CNN_KEY_TAG = "study_cnn_key"
#: the accuracies a study CNN logs, read back when its run is reused
ACCURACY_KEYS = tuple(f"{subset}{label}" for subset in ("validation", "test") for label in ("", "_liquid", "_glass"))


def configurations_digest(configs: list[Configuration]) -> str:
    """sha256 of the configurations a CNN trains, validates and tests on, in order: positions, types and box."""
    digest = hashlib.sha256()
    for config in configs:
        for array in (config.positions, config.types, np.asarray(config.box)):
            digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def study_cnn_key(system: str, cnn: CNNSettings, digest: str) -> str:
    """Identity of a trained study CNN: its data (:func:`configurations_digest`), every ``cnn`` setting (input kind,
    head, network, optimisation, split, seed) and the code versions. Training is deterministic for these, so a
    run logged under the same key holds the same network and a resumed study reuses it instead of training again."""
    settings = {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(cnn).items()}
    identity = {
        "system": system,
        "settings": settings,
        "data": digest,
        "code": [CNN_CODE_VERSION, COOLING_RATE_CODE_VERSION],
    }
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:32]


def _logged_study_cnn(
    client: MlflowClient, experiment_id: str, key: str
) -> tuple[GlassCNN, dict[str, Accuracy], str] | None:
    """(model, accuracies, run id) of the newest finished study-CNN run with ``key``, if its counts were logged."""
    runs = client.search_runs(
        [experiment_id],
        filter_string=f"tags.{STUDY_CNN_KEY_TAG} = '{key}' and attributes.status = 'FINISHED'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    if not runs:
        return None
    run = runs[0]
    accuracies = {name: logged_accuracy(run.data.metrics, run.data.params, name) for name in ACCURACY_KEYS}
    if accuracies["validation"].n == 0:
        return None
    return mlflow.pytorch.load_model(f"runs:/{run.info.run_id}/model"), accuracies, run.info.run_id


def study_cnn_rows(system: str, cnns: list[StudyCNN]) -> pl.DataFrame:
    """Rows of ``cooling_rate_cnns``: each study CNN's accuracy per subset and class, k of n, binomial SE and Wilson
    interval (2 SE), with the gate and its verdict."""
    rows = []
    for cnn in cnns:
        for subset, accuracy in cnn.accuracies.items():
            low, high = accuracy.interval(cnn.classifier.gate.z)
            rows.append(
                {
                    "system": system,
                    "cnn_input": cnn.input_kind,
                    "subset": subset,
                    "n_particles": cnn.n_particles,
                    "accuracy": accuracy.value if accuracy.n else None,
                    "n": accuracy.n,
                    "n_correct": accuracy.correct,
                    "stderr": accuracy.stderr,
                    "wilson_low": low,
                    "wilson_high": high,
                    "gate_accuracy": cnn.classifier.gate.threshold,
                    "classifier_status": cnn.classifier.status,
                    "mlflow_run_id": cnn.run_id,
                }
            )
    schema = {"accuracy": pl.Float64, "stderr": pl.Float64, "n_particles": pl.Int32, "n": pl.Int32}
    schema |= {"n_correct": pl.Int32, "mlflow_run_id": pl.String}
    if not rows:
        return pl.DataFrame(schema={"system": pl.String, "cnn_input": pl.String, "subset": pl.String, **schema})
    return pl.DataFrame(rows, schema_overrides=schema)


def _stored_glasses(
    store: Warehouse, key: dict, seeds: dict[int, int], protocol: dict, n_particles: int
) -> tuple[dict[int, Configuration], dict[str, pl.DataFrame]]:
    """Glasses of ``key`` already in the warehouse with the seed, protocol and N this study would use for them:
    (sample → configuration, their ``samples``/``particles`` rows). They are the same glasses, so adding glasses
    to a rate quenches only the new ones."""
    samples = store.read_partition("samples", key)
    if samples.height == 0:
        return {}, {}
    same = samples.filter(
        pl.col("sample").is_in(list(seeds))
        & (pl.col("protocol") == json.dumps(protocol))
        & (pl.col("n_particles") == n_particles)
    )
    same = same.filter(pl.col("seed") == pl.col("sample").replace_strict(seeds, default=None))
    if same.height == 0:
        return {}, {}
    particles = store.read_partition("particles", key).filter(pl.col("sample").is_in(same["sample"].to_list()))
    return configurations(same, particles), {"samples": same, "particles": particles}


def _glasses_at_rate(
    context: AssetExecutionContext,
    study: StudySettings,
    simulation: SimulationLauncher,
    store: Warehouse,
    profile: Profile,
    system: ModelSystem,
    n_particles: int,
    rate: float,
    count: int,
) -> tuple[dict, dict[str, pl.DataFrame], dict[int, Configuration], Path]:
    """``count`` quenches of ``n_particles`` to T_G at ``rate`` (the profile's quench protocol otherwise), run,
    reused from scratch or reused from the warehouse: (partition key, samples/particles rows, configurations,
    scratch folder).

    Glass k's seed is ``derive_seed`` of (system, T_G, k, base seed) with the rate in the stream name, so every
    rate draws its own glasses and glass k is the same whatever ``count`` is. Glasses already stored with that
    seed and protocol are not quenched again (raising ``glasses_per_rate`` quenches only the new ones). The
    scratch folder is named by a hash of the quench parameters and the seed stream, not of the count: after a
    crash the finished glasses are reused, and so they are when ``count`` is changed before the study is written.
    """
    temperature = float(system.temperatures["glass"])
    protocol = dataclasses.replace(profile.quench.protocol, cooling_rate=rate).to_dict()
    params = {"system": system.name, "n_particles": n_particles, "temperature": temperature, "protocol": protocol}
    stream = f"cooling_rate_{rate!r}"
    seeds = {k: derive_seed(system.name, temperature, k, profile.base_seed, stream) for k in range(count)}
    key = ensemble_key(system.name, temperature, rate_ensemble(rate))
    stored, stored_rows = _stored_glasses(store, key, seeds, protocol, n_particles)
    items = [{"sample": k, "seed": s} for k, s in seeds.items() if k not in stored]
    inputs = [params, {"base_seed": profile.base_seed, "seed_stream": stream}]
    scratch = study.scratch_folder("cooling_rate_study", system.name, temperature, inputs)
    context.log.info(
        f"{count} glasses of {system.name} (N = {n_particles}) at T_G = {temperature}, rate {rate:g}: "
        f"{len(stored)} stored, {len(items)} to quench ({QuenchProtocol(**protocol).steps(system, temperature)} steps)"
    )
    configs = dict(stored)
    frames = [stored_rows] if stored_rows else []
    if items:
        paths = simulation.run_tasks(
            "quench",
            params,
            items,
            scratch,
            on_event=progress_logger(context.log, len(items), f"quench at rate {rate:g}"),
        )
        results = {item["sample"]: QuenchResult.load(path) for item, path in zip(items, paths, strict=True)}
        configs |= {k: r.configuration for k, r in results.items()}
        frames.append(_ensemble_frames(key, results, seeds, protocol, context.run.run_id))
    ensemble = {
        table: pl.concat([f[table].select(frames[-1][table].columns) for f in frames], how="vertical_relaxed").sort(
            "sample"
        )
        for table in ("samples", "particles")
    }
    return key, ensemble, dict(sorted(configs.items())), scratch


def _ensemble_frames(
    key: dict, results: dict[int, QuenchResult], seeds: dict[int, int], protocol: dict, run_id: str
) -> dict[str, pl.DataFrame]:
    """``samples`` and ``particles`` rows of the glasses of one rate."""
    samples = [
        sample_row(
            key,
            sample,
            seeds[sample],
            result.configuration.n_particles,
            result.configuration.box,
            result.lammps_energy,
            kinetic_temperature=hold_mean_temperature(result.thermo),
            md_steps=result.md_steps,
            wall_seconds=result.wall_seconds,
            protocol=json.dumps(protocol),
            code_version=code_version_tag(COOLING_RATE_CODE_VERSION),
            run_id=run_id,
        )
        for sample, result in sorted(results.items())
    ]
    particles = [
        particle_rows(key, sample, result.configuration.positions, result.configuration.types)
        for sample, result in sorted(results.items())
    ]
    return {"samples": pl.DataFrame(samples), "particles": pl.concat(particles)}


def _correlation_rows(
    system: str, rate: float, configs: dict[int, Configuration], xi: float, cnns: list[StudyCNN]
) -> tuple[list[dict], dict[str, int]]:
    """Rows of ``cooling_rate_correlations`` for the glasses of one rate, and per CNN input the number of glasses
    it classifies as glass (the others have no CNN rows)."""
    model = get_system(system)
    indicators = {sample: structural_indicators(config, model, xi) for sample, config in configs.items()}
    base = {"system": system, "cooling_rate": rate}
    rows = [
        {**base, "sample": sample, "pair": STRUCTURAL_PAIR, "cnn_input": None, "method": method, "value": value}
        for sample, fields in indicators.items()
        for method, value in theta_upsilon_correlations(fields).items()
    ]
    classified = {}
    box_length = float(next(iter(configs.values())).box[0])
    for cnn in cnns:
        per_glass = cnn_glass_correlations(cnn.model, cnn.gridding_at_box(box_length), configs, indicators, xi)
        classified[cnn.input_kind] = sum(values is not None for values in per_glass.values())
        rows += [
            {
                **base,
                "sample": sample,
                "pair": pair,
                "cnn_input": cnn.input_kind,
                "method": method,
                "value": value,
                "classifier_status": cnn.classifier.status,
            }
            for sample, values in per_glass.items()
            if values is not None
            for (pair, method), value in values.items()
        ]
    return rows, classified


def cooling_rate_summary(
    correlations: pl.DataFrame,
    energies: dict[float, list[float]],
    system: str,
    n_particles: int,
    temperature: float,
    classified: Mapping[float, Mapping[str, int]] | None = None,
    statuses: Mapping[str, str] | None = None,
) -> pl.DataFrame:
    """Rows of ``cooling_rate_summary``: per (rate, pair, CNN input, method) mean ± SE, sd and n over the glasses,
    [O]'s value (Pearson only), the glasses' mean E/N ± SE, the number of glasses at the rate and, for a CNN pair,
    how many of them the CNN classified as glass (only those have a C(Γ, ·)) and the CNN's ``classifier_status``
    (``statuses``: input kind → status). A Grad-CAM row of an unresolved CNN gets no paper value: it is no
    finding to set beside [O]."""
    paper = OYAMA_GLASS_MEANS.get(system, {})
    classified = classified or {}
    statuses = statuses or {}
    rows = []
    for (rate, pair, cnn_input, method), group in correlations.group_by(
        ["cooling_rate", "pair", "cnn_input", "method"]
    ):
        mean = sample_mean(group["value"].to_list())
        energy = sample_mean(energies[rate])
        status = None if cnn_input is None else statuses.get(cnn_input)
        finding = status != CLASSIFIER_UNRESOLVED
        rows.append(
            {
                "system": system,
                "cooling_rate": rate,
                "pair": pair,
                "cnn_input": cnn_input,
                "method": method,
                "n_glasses": len(energies[rate]),
                "n_classified_glass": None if cnn_input is None else classified.get(rate, {}).get(cnn_input),
                "n_particles": n_particles,
                "temperature": temperature,
                "mean": mean.mean,
                "stderr": mean.stderr,
                "std": mean.std,
                "n": mean.n,
                "n_undefined": mean.n_undefined,
                "paper_value": paper.get(pair) if method == "pearson" and finding else None,
                "paper_cooling_rate": OYAMA_COOLING_RATE,
                "energy_per_particle": energy.mean,
                "energy_stderr": energy.stderr,
                "classifier_status": status,
            }
        )
    schema = {"mean": pl.Float64, "stderr": pl.Float64, "std": pl.Float64, "paper_value": pl.Float64}
    schema |= {"energy_stderr": pl.Float64, "cnn_input": pl.String, "n_classified_glass": pl.Int64}
    schema |= {"classifier_status": pl.String}
    return (
        pl.DataFrame(rows, schema_overrides=schema)
        .with_columns(pl.col("mean").fill_nan(None))
        .sort(["pair", "cnn_input", "method", "cooling_rate"], descending=[False, False, False, True], nulls_last=True)
    )


def cooling_rate_study(
    context: AssetExecutionContext,
    study: StudySettings,
    simulation: SimulationLauncher,
    warehouse: WarehouseResource,
    mlflow_tracking: MLflowResource,
) -> MaterializeResult:
    """Glasses quenched to T_G at each of the profile's cooling rates, and per rate the correlations of their
    structural indicators and Grad-CAM scores."""
    started = time.perf_counter()
    system_name = context.partition_key
    system = get_system(system_name)
    profile = study.load()
    settings = profile.cooling_rate_study
    temperature = float(system.temperatures["glass"])
    xi = profile.coarse_graining_length
    store = warehouse.get()
    store.ensure_writable()  # fail before hours of MD, not after
    cnns = train_study_cnns(context, profile, store, mlflow_tracking, system_name, simulation, study.scratch_dir)

    glasses, frames, rows, scratches, walls, classified = {}, [], [], [], {}, {}
    for rate, count in settings.plan():
        key, ensemble, configs, scratch = _glasses_at_rate(
            context, study, simulation, store, profile, system, settings.n_particles, rate, count
        )
        glasses[rate] = RateGlasses(configs, ensemble["samples"])
        frames.append((key, ensemble))
        scratches.append(scratch)
        walls[rate] = float(ensemble["samples"]["wall_seconds"].mean())
        rate_rows, classified[rate] = _correlation_rows(system_name, rate, configs, xi, cnns)
        rows += rate_rows

    correlations = pl.DataFrame(
        rows, schema_overrides={"value": pl.Float64, "cnn_input": pl.String, "classifier_status": pl.String}
    ).with_columns(pl.col("value").fill_nan(None))
    if "classifier_status" not in correlations.columns:  # no CNN: C(1−Θ,Υ) only
        correlations = correlations.with_columns(pl.lit(None, dtype=pl.String).alias("classifier_status"))
    energies = {rate: g.samples["energy_per_particle"].to_list() for rate, g in glasses.items()}
    statuses = {c.input_kind: c.classifier.status for c in cnns}
    summary = cooling_rate_summary(
        correlations, energies, system_name, settings.n_particles, temperature, classified, statuses
    )
    tables = {
        "cooling_rate_correlations": correlations,
        "cooling_rate_summary": summary,
        "cooling_rate_cnns": study_cnn_rows(system_name, cnns),
    }
    rejected = {**tables, **{f"{t}_{k['ensemble']}": f for k, e in frames for t, f in e.items()}}
    checks = evaluate_before_commit(
        COOLING_RATE_CHECKS,
        context,
        rejected=rejected,
        quarantine_root=study.quarantine_root(),
        system=system,
        glasses=glasses,
        correlations=correlations,
        classifiers=[c.classifier for c in cnns],
    )
    written = store.replace_partitions([({"system": system_name}, tables), *frames])
    for scratch in scratches:
        shutil.rmtree(scratch, ignore_errors=True)
    return MaterializeResult(
        check_results=checks,
        metadata={
            **_summary_metadata(summary),
            "table": MetadataValue.md(plots.summary_markdown(summary)),
            "rows_written": MetadataValue.json(written),
            "n_particles": settings.n_particles,
            "temperature": temperature,
            "profile": profile.name,
            "mean_wall_seconds_per_glass": MetadataValue.json({f"{r:g}": w for r, w in walls.items()}),
            "study_cnns": MetadataValue.json(
                {
                    c.input_kind: {
                        "validation_accuracy": c.accuracies["validation"].text(),
                        "test_accuracy": c.accuracies["test"].text(),
                        "classifier_status": c.classifier.status,
                        "gate_accuracy": c.classifier.gate.threshold,
                        "n_particles": c.n_particles,
                        "mlflow_run_id": c.run_id,
                        "glasses_classified_as_glass": {f"{r:g}": classified[r][c.input_kind] for r in classified},
                    }
                    for c in cnns
                }
            ),
            "cnn_accuracies": MetadataValue.md(plots.cnn_markdown(study_cnn_rows(system_name, cnns))),
            **{
                f"grad_cam_finding_{c.input_kind}": "resolved classifier"
                if c.classifier.resolved
                else c.classifier.no_finding()
                for c in cnns
            },
            "wall_seconds": time.perf_counter() - started,
            "code_version": code_version_tag(COOLING_RATE_CODE_VERSION),
            **figure_metadata(
                plots.correlation_against_rate(
                    summary,
                    correlations,
                    f"{system_name}: glasses at T = {temperature:g}, N = {settings.n_particles}",
                    OYAMA_GLASS_MEANS.get(system_name, {}),
                    OYAMA_COOLING_RATE,
                ),
                study.plot_path("cooling_rate_study", f"{system_name}_correlation_vs_rate.png"),
            ),
        },
    )


def _summary_metadata(summary: pl.DataFrame) -> dict[str, object]:
    """``pearson_rate_<γ>`` (C(1−Θ,Υ)), ``pearson_<pair>_<input>_rate_<γ>`` (the CNN pairs), each with ``…_stderr``
    (null for n = 1) and ``…_n``; the CNN pairs of an unresolved classifier are no finding and are left out."""
    metadata: dict[str, object] = {}
    for row in summary.filter(pl.col("method") == "pearson").iter_rows(named=True):
        if row.get("classifier_status") == CLASSIFIER_UNRESOLVED:
            continue
        prefix = "pearson" if row["cnn_input"] is None else f"pearson_{row['pair']}_{row['cnn_input']}"
        name = f"{prefix}_rate_{row['cooling_rate']:g}"
        metadata[name] = float("nan") if row["mean"] is None else float(row["mean"])
        metadata[f"{name}_stderr"] = stderr_metadata(row["stderr"])
        metadata[f"{name}_n"] = row["n"]
    return metadata


COOLING_RATE_STUDY = AssetTemplate(
    body=cooling_rate_study,
    profile_settings=("base_seed", "cooling_rate_study", "quench.protocol", "cnn", "descriptors"),
    partitioned_by=PER_SYSTEM,
    upstream=(Upstream("quenched_ensembles"),),
    checks=COOLING_RATE_CHECKS,
    kinds=frozenset({"lammps", "freud", "duckdb", "pytorch", "mlflow"}),
    group_name="cooling_rate",
    code_version=COOLING_RATE_CODE_VERSION,
    pool="simulation",
    retry_policy=SIMULATION_RETRIES,
)
