"""Which quench runs the CNN trains, validates and tests on, and the image it sees, for assets that must know it.

The CNN's split (:func:`glass_core.learning.cnn.deterministic_split`) is keyed on the quench run: the sorted
sample ids of the T_L and T_G partitions together, the fractions and the seed. ``cnn_classifier`` logs the
fractions and seed it used with its MLflow run (:func:`split_parameters` writes them, :func:`logged_split`
reads them back); assets that evaluate the CNN on other data of the same glasses (Grad-CAM against
dynamics) recompute the split here, so they can keep to the glasses the network never saw. Likewise the
gridding (grid, kernel width, input kind) is logged with the run and rebuilt by :func:`logged_gridding`, so
Grad-CAM feeds the champion the kind of image it was trained on.
"""

import json
from collections.abc import Callable

import numpy as np

from glass_assets.profiles import CNNSettings
from glass_assets.tables import QUENCHED, configurations
from glass_assets.warehouse import Warehouse, WarehouseError, ensemble_key
from glass_core.learning.cnn import (
    GLASS,
    LIQUID,
    CNNArchitecture,
    DataSplit,
    EpochRecord,
    TrainingResult,
    deterministic_split,
    train_classifier,
)
from glass_core.models.configuration import Configuration
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


def train_with_settings(
    images: np.ndarray,
    labels: np.ndarray,
    split: DataSplit,
    cnn: CNNSettings,
    on_epoch: Callable[[EpochRecord], None] | None = None,
) -> TrainingResult:
    """:func:`glass_core.learning.cnn.train_classifier` with the optimisation and network of the ``cnn`` section."""
    return train_classifier(
        images,
        labels,
        split,
        epochs=cnn.epochs,
        lr=cnn.learning_rate,
        batch_size=cnn.batch_size,
        seed=cnn.seed,
        architecture=cnn_architecture(cnn),
        weight_decay=cnn.weight_decay,
        standardise=cnn.standardise,
        augment=cnn.augment,
        on_epoch=on_epoch,
    )


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
