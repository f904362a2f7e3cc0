"""Which quench runs the CNN trains, validates and tests on, and the image it sees, for assets that must know it.

The CNN's split (:func:`glass_core.learning.cnn.deterministic_split`) is keyed on the quench run: the sorted
sample ids of the T_L and T_G partitions together, the fractions and the seed. ``cnn_classifier`` logs the
fractions and seed it used with its MLflow run (:func:`split_parameters` writes them, :func:`logged_split`
reads them back); assets that evaluate the CNN on other data of the same glasses (Grad-CAM against
dynamics) recompute the split here, so they can keep to the glasses the network never saw. Likewise the
gridding (grid, kernel width, input kind) is logged with the run and rebuilt by :func:`logged_gridding`, so
Grad-CAM feeds the champion the kind of image it was trained on.

Accuracies travel with their n: :func:`split_accuracies` turns an evaluation into k-of-n
:class:`glass_core.models.statistics.Accuracy` per subset and class, :func:`accuracy_metrics` writes each as the
MLflow metrics ``<name>`` (k/n), ``<name>_stderr`` (binomial), ``<name>_wilson_low``/``_high`` (2 SE) and its
count (``validation_n``, ``validation_n_glass``, …), and :func:`logged_accuracy` reads one back, so the classifier
gate (:mod:`glass_core.learning.classifier_gate`) can judge a registered CNN from its run.
"""

import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from dagster import MetadataValue

from glass_assets.checks import CheckOutcome
from glass_assets.launchers.base import SimulationLauncher
from glass_assets.launchers.training import TrainedResult, train_through_launcher
from glass_assets.profiles import CNNSettings, ComputeSettings
from glass_assets.tables import QUENCHED, configurations
from glass_assets.warehouse import Warehouse, WarehouseError, ensemble_key
from glass_core.learning.classifier_gate import (
    CLASSIFIER_RESOLVED,
    ClassifierGate,
    ClassifierStatus,
    no_finding_text,
)
from glass_core.learning.cnn import (
    GLASS,
    LIQUID,
    CNNArchitecture,
    DataSplit,
    EpochRecord,
    Evaluation,
    deterministic_split,
)
from glass_core.models.configuration import Configuration
from glass_core.models.statistics import Accuracy
from glass_core.models.systems import SYSTEMS, get_system
from glass_core.structure.gridding import Gridding

#: systems with a liquid (T_L) and a glass (T_G) ensemble: the ones the CNN study applies to
CNN_SYSTEMS = sorted(name for name, s in SYSTEMS.items() if {"liquid", "glass"} <= s.temperatures.keys())
SUBSETS = ("train", "validation", "test")


def quench_sample_ids_by_phase(store: Warehouse, system: str) -> dict[str, list[int]]:
    """Sample ids of the ``liquid`` (T_L) and ``glass`` (T_G) quenched ensembles of ``system``, as stored."""
    temps = get_system(system).temperatures
    return {
        phase: [int(s) for s in store.read_partition("samples", ensemble_key(system, temps[phase], QUENCHED))["sample"]]
        for phase in ("liquid", "glass")
    }


def labelled_configurations(
    store: Warehouse, system: str
) -> tuple[list[Configuration], np.ndarray, np.ndarray, list[tuple[float, int]]]:
    """Liquid (T_L) and glass (T_G) quench configurations of ``system`` with class labels (:data:`LIQUID`,
    :data:`GLASS`), sample ids and (temperature, sample) keys: the data every liquid/glass CNN trains on."""
    if system not in CNN_SYSTEMS:
        raise ValueError(f"the liquid/glass study needs a T_L and a T_G: {system} has none (use {CNN_SYSTEMS})")
    temps = get_system(system).temperatures
    configs, labels, samples, keys = [], [], [], []
    for label, phase in ((LIQUID, "liquid"), (GLASS, "glass")):
        temperature = temps[phase]
        key = ensemble_key(system, temperature, QUENCHED)
        found = configurations(store.read_partition("samples", key), store.read_partition("particles", key))
        if not found:
            raise WarehouseError(
                f"no quenched ensemble for {system} at T={temperature} ({phase}): materialize "
                f"quenched_ensembles {system}|{temperature!r} first"
            )
        configs += list(found.values())
        labels += [label] * len(found)
        samples += list(found)
        keys += [(temperature, s) for s in found]
    return configs, np.asarray(labels), np.asarray(samples), keys


def cnn_subsets(ids_by_phase: dict[str, list[int]], fractions: tuple[float, float, float], seed: int) -> dict[int, str]:
    """Sample id → ``"train"``, ``"validation"`` or ``"test"``, exactly as the CNN split them.

    The CNN keys its split on the sorted ids of the liquid and glass ensembles together
    (:func:`quench_sample_ids_by_phase`).
    """
    sample_ids = sorted(set().union(*ids_by_phase.values()))
    split = deterministic_split(np.asarray(sample_ids), fractions, seed)
    parts = (split.train, split.validation, split.test)
    return {int(sample_ids[i]): name for name, rows in zip(SUBSETS, parts, strict=True) for i in rows}


def held_out_first(candidates: list[int], subsets: dict[int, str]) -> list[int]:
    """``candidates`` ordered test, then validation, then training (then unknown), ascending within each."""
    rank = {"test": 0, "validation": 1, "train": 2}
    return sorted(candidates, key=lambda s: (rank.get(subsets.get(s, ""), 3), s))


def split_parameters(cnn: CNNSettings) -> dict[str, object]:
    """The MLflow parameters that record a training's split: ``split_seed`` and ``split_fractions`` (JSON)."""
    return {"split_seed": cnn.seed, "split_fractions": json.dumps(list(cnn.split_fractions))}


def logged_split(params: dict[str, str]) -> tuple[tuple[float, ...], int]:
    """(fractions, seed) of a training, from its MLflow run parameters (see :func:`split_parameters`)."""
    return tuple(json.loads(params["split_fractions"])), int(params["split_seed"])


def gridding_for(system: str, cnn: CNNSettings) -> Gridding:
    """The mapping M of ``system``'s configurations to the CNN's input images, as the profile sets it."""
    return Gridding(get_system(system).n_types, cnn.grid, cnn.kernel_width, input_kind=cnn.input_kind)


def cnn_architecture(cnn: CNNSettings) -> CNNArchitecture:
    """The network the profile's ``cnn`` section describes (everything but the input shape)."""
    return CNNArchitecture(
        conv_channels=cnn.conv_channels,
        kernel_size=cnn.kernel_size,
        hidden=cnn.hidden,
        dropout=cnn.dropout,
        head=cnn.head,
    )


def cnn_training_arguments(images: np.ndarray, labels: np.ndarray, split: DataSplit, cnn: CNNSettings) -> dict:
    """The arguments of :func:`glass_core.learning.cnn.train_classifier` for the optimisation and network of the
    ``cnn`` section."""
    return {
        "images": images,
        "labels": labels,
        "split": split,
        "epochs": cnn.epochs,
        "lr": cnn.learning_rate,
        "batch_size": cnn.batch_size,
        "seed": cnn.seed,
        "architecture": cnn_architecture(cnn),
        "weight_decay": cnn.weight_decay,
        "standardise": cnn.standardise,
        "augment": cnn.augment,
        "validate_every": cnn.validate_every,
    }


def train_with_settings(
    launcher: SimulationLauncher,
    scratch: Path,
    compute: ComputeSettings,
    images: np.ndarray,
    labels: np.ndarray,
    split: DataSplit,
    cnn: CNNSettings,
    on_epoch: Callable[[EpochRecord], None] | None = None,
    log: Any | None = None,
) -> TrainedResult:
    """A CNN of the ``cnn`` section trained as a launcher task on the ``compute`` device
    (:func:`glass_assets.launchers.training.train_through_launcher`); ``.result`` is the
    :class:`~glass_core.learning.cnn.TrainingResult`, on the CPU."""
    [trained] = train_through_launcher(launcher, "cnn", [cnn_training_arguments(images, labels, split, cnn)], scratch,
                                       compute.device, compute.training_threads, on_epoch, log, "CNN")
    return trained


def logged_gridding(system: str, params: dict[str, str]) -> Gridding:
    """The mapping M a logged CNN was trained with, from its MLflow run parameters.

    Runs logged before the input kind was a choice have no ``input_kind`` parameter: they saw one channel
    per species (``per_type``).
    """
    return Gridding(
        get_system(system).n_types,
        int(params["grid"]),
        float(params["kernel_width"]),
        input_kind=params.get("input_kind", "per_type"),
    )


def held_out_glass_order(
    store: Warehouse, system: str, split: tuple[tuple[float, ...], int] | None
) -> tuple[list[int] | None, dict[int, str]]:
    """Glass sample ids with the CNN's test split first, and sample id → subset (``None``, {} without a split).

    ``split`` is the champion CNN's logged (fractions, seed) (:func:`logged_split`): the one source of which
    glasses the network saw. [O] correlates the Grad-CAM score with the dynamics of glasses; taking them from
    the test split keeps configurations the network was trained on out of that comparison.
    """
    if system not in CNN_SYSTEMS or split is None:
        return None, {}
    ids = quench_sample_ids_by_phase(store, system)
    if not ids["liquid"]:
        return None, {}  # the split is keyed on both ensembles: unknown until the liquid one exists
    subsets = cnn_subsets(ids, *split)
    return held_out_first(ids["glass"], subsets), subsets


CLASS_NAMES = {LIQUID: "liquid", GLASS: "glass"}


def split_accuracies(evaluation: Evaluation, subset: str) -> dict[str, Accuracy]:
    """``<subset>`` (both classes) and ``<subset>_liquid``, ``<subset>_glass`` → k-of-n accuracy, from the
    evaluation's confusion matrix (rows = true class)."""
    confusion = evaluation.confusion
    out = {subset: Accuracy(int(confusion.trace()), int(confusion.sum()))}
    for label, name in CLASS_NAMES.items():
        out[f"{subset}_{name}"] = Accuracy(int(confusion[label, label]), int(confusion[label].sum()))
    return out


def _count_name(key: str) -> str:
    """``validation`` → ``validation_n``; ``validation_glass`` → ``validation_n_glass``."""
    subset, _, label = key.partition("_")
    return f"{subset}_n" + (f"_{label}" if label else "")


def accuracy_metrics(accuracies: Mapping[str, Accuracy]) -> dict[str, float]:
    """MLflow metrics of k-of-n accuracies keyed ``validation``, ``validation_glass``, …: ``validation_accuracy``
    (k/n), ``…_stderr`` (√(p(1 − p)/n)), ``…_wilson_low``/``…_wilson_high`` (2 SE), and the count
    ``validation_n`` / ``validation_n_glass`` (an accuracy of n = 0 logs only its count)."""
    metrics: dict[str, float] = {}
    for key, accuracy in accuracies.items():
        subset, _, label = key.partition("_")
        name = f"{subset}_accuracy" + (f"_{label}" if label else "")
        metrics[_count_name(key)] = float(accuracy.n)
        if accuracy.n == 0:
            continue
        low, high = accuracy.interval()
        metrics |= {
            name: accuracy.value,
            f"{name}_stderr": float(accuracy.stderr or 0.0),
            f"{name}_wilson_low": low,
            f"{name}_wilson_high": high,
        }
    return metrics


def logged_accuracy(metrics: Mapping[str, float], params: Mapping[str, str], key: str = "validation") -> Accuracy:
    """The k-of-n accuracy ``key`` (``validation``, ``test_glass``, …) of a logged CNN run.

    Runs logged before the counts were metrics have ``n_validation``/``n_test`` parameters (images of both
    classes) only: their overall accuracy is recovered from it, a per-class one is 0 of 0 (unknown).
    """
    subset, _, label = key.partition("_")
    name = f"{subset}_accuracy" + (f"_{label}" if label else "")
    value = metrics.get(name)
    count = metrics.get(_count_name(key))
    if count is None and not label:
        count = params.get(f"n_{subset}")
    if value is None or count is None or not math.isfinite(float(value)):
        return Accuracy(0, 0)
    return Accuracy.from_fraction(float(value), int(float(count)))


@dataclass(frozen=True)
class GatedClassifier:
    """A CNN's validation accuracy judged by the profile's classifier gate (``cnn.gate_accuracy``).

    Everything built on its Grad-CAM carries :attr:`status`; when it is not resolved, summaries say
    :meth:`no_finding` instead of presenting the correlations beside [O]'s values.
    """

    accuracy: Accuracy
    gate: ClassifierGate
    name: str = "CNN"

    @property
    def status(self) -> ClassifierStatus:
        return self.gate.status(self.accuracy)

    @property
    def resolved(self) -> bool:
        return self.status == CLASSIFIER_RESOLVED

    def describe(self) -> str:
        """``"<name>: validation accuracy 0.625 ± 0.17 (n = 8; Wilson 0.30–0.87) — NOT resolved above …"``."""
        return f"{self.name}: {self.gate.describe(self.accuracy)}"

    def no_finding(self) -> str:
        """``"classifier at chance: no Grad-CAM finding (validation accuracy …, gate 0.95)"``."""
        return no_finding_text(self.accuracy, self.gate.threshold)

    def metadata(self) -> dict[str, Any]:
        """Dagster metadata: status, the validation accuracy with n, SE and Wilson interval, the gate."""
        low, high = self.accuracy.interval(self.gate.z)
        defined = self.accuracy.n > 0
        return {
            "classifier_status": self.status,
            "classifier": self.describe(),
            "classifier_validation_accuracy": self.accuracy.value if defined else float("nan"),
            "classifier_validation_n": self.accuracy.n,
            "classifier_validation_stderr": (
                MetadataValue.float(self.accuracy.stderr) if defined else MetadataValue.null()
            ),
            "classifier_validation_wilson": f"{low:.3f}–{high:.3f}",
            "gate_accuracy": self.gate.threshold,
        }


def champion_gate(
    cnn: CNNSettings, params: Mapping[str, str], metrics: Mapping[str, float], name: str = "CNN"
) -> GatedClassifier:
    """The champion's logged validation accuracy (k of n) judged by the profile's gate."""
    return GatedClassifier(logged_accuracy(metrics, params, "validation"), cnn.gate, name)


def classifier_resolved(classifier: GatedClassifier, **_: object) -> CheckOutcome:
    """The CNN behind the Grad-CAM rows has its validation accuracy resolved above the gate (a warning)."""
    return CheckOutcome(
        passed=classifier.resolved,
        metadata={
            "validation_accuracy": classifier.accuracy.value if classifier.accuracy.n else float("nan"),
            "n": classifier.accuracy.n,
            "wilson_low": classifier.accuracy.interval(classifier.gate.z)[0],
            "gate_accuracy": classifier.gate.threshold,
        },
        description="" if classifier.resolved else f"{classifier.describe()}: {classifier.no_finding()}",
    )
