"""Two-step training of tGlassMLP [J §II.5, App. B] with self-consistent distillation.

Step 1, equal-⟨C_B⟩ networks: for each ⟨C_B⟩ requested by the unlabelled rows, ``n_networks_equal_cb``
networks are trained on the labelled rows at that ⟨C_B⟩ (all temperatures) and applied, at the nominal
input (T, ⟨C_B⟩), to the unlabelled rows at that ⟨C_B⟩. At each unlabelled state point a network passes
if |⟨ŷ⟩ − ⟨C_B⟩| ≤ tolerance (self-consistency: the requested average is an input); the mean prediction
of the passing networks becomes that state point's distilled labels. A state point where none passes,
or a ⟨C_B⟩ without labelled rows, gets no distilled data (reported).

Which rows are distilled ([J]): the step-1 networks "are used to predict propensities for the low
temperature configurations at the values of ⟨C_B⟩ for which MD results are not available (typically low
values of ⟨C_B⟩)" — configurations of the *labelled* temperatures, at the targets their MD window did not
reach. A temperature without any MD is never distilled (nor judged) by default: the model evaluated there
must not have been selected on it. ``distil_unlabelled_temperatures=True`` allows it, as a named choice;
without it, unlabelled rows at a temperature with no labels raise :class:`DistillationError`.

Step 2: ``n_networks`` networks with different seeds on labelled + distilled rows; each is judged at
the unlabelled state points (if there are none, at the validation state points, target ⟨C_B⟩ as the
request) and kept if self-consistent at all of them. If none passes, the one with the smallest worst
deviation is kept and ``notes["self_consistency_warning"]`` is True (a ``UserWarning`` is raised too).

Each training: MSE through ``settings.tglass_mse_schedule``, then the full GlassMLP loss ([G] stage 2,
:mod:`~glass_core.learning.propensity_loss`) through ``settings.tglass_glassmlp_schedule``; batch = one
configuration's particles of the trained types at one state point; best validation epoch of the
full-loss phase restored. Descriptors without variance over the training rows are dropped ([G]); the
descriptor standardisation is fitted on the labelled training rows.

State input. The state-encoding standardisation is fitted on the distinct state points of the training
rows together with every state point the model will be asked about (``requested_state_points``: the
campaign's prediction temperatures × targets), each point once, so that the inputs of the coldest
requested temperature stay within the standardised range instead of several training spans outside it
(which sharpens the attention softmax on extrapolation). The training temperatures are recorded in the
notes; :func:`~glass_core.learning.mlp_data.extrapolation_spans` measures how far a prediction lies
outside them.

References: [J].
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from glass_core.learning.device import resolve_device
from glass_core.learning.glassmlp import default_feature_names, infer_n_types, training_columns
from glass_core.learning.mlp_data import PropensityDataset, Standardiser, concatenate, state_encoding_numpy
from glass_core.learning.mlp_settings import MLPTrainingSettings
from glass_core.learning.mlp_training import (
    EpochRecord,
    Phase,
    deterministic_torch,
    label_scales,
    member_seed,
    prepare_batches,
    train_network,
)
from glass_core.learning.tglassmlp import TGlassMLPEnsemble, TGlassMLPNet

__all__ = [
    "DistillationError",
    "SelfConsistencyCheck",
    "TGlassMLPTraining",
    "select_self_consistent",
    "self_consistency_deviations",
    "train_tglassmlp",
]


class DistillationError(ValueError):
    """Rows to distil at a temperature without labels, without the setting that allows it; names the temperatures."""


@dataclass(frozen=True)
class SelfConsistencyCheck:
    """One network judged at one state point: ⟨ŷ⟩ over the rows and whether |⟨ŷ⟩ − ⟨C_B⟩| ≤ tolerance."""

    stage: str
    member: int
    temperature: float
    cb: float
    mean_prediction: float
    passed: bool


@dataclass
class TGlassMLPTraining:
    """Result of :func:`train_tglassmlp`: the kept ensemble and what happened on the way."""

    ensemble: TGlassMLPEnsemble
    distilled: PropensityDataset | None
    checks: list[SelfConsistencyCheck] = field(default_factory=list)
    skipped_cb: list[float] = field(default_factory=list)
    history: list[EpochRecord] = field(default_factory=list)

    @property
    def self_consistency_warning(self) -> bool:
        return bool(self.ensemble.notes.get("self_consistency_warning", False))


def self_consistency_deviations(ensemble: TGlassMLPEnsemble,
                                dataset: PropensityDataset) -> tuple[np.ndarray, np.ndarray]:
    """(⟨ŷ⟩_k − ⟨C_B⟩ per member k and state point p, shape (K, P); the (P, 2) state points), nominal input."""
    state_points = dataset.state_points()
    deviations = np.zeros((ensemble.n_members, len(state_points)))
    with torch.inference_mode():
        for p, (temperature, cb) in enumerate(state_points):
            rows = dataset.at_state_point(temperature, cb)
            state = torch.tensor([[temperature, cb]], dtype=torch.float32).expand(ensemble.n_members, 2)
            members = ensemble.forward_at_state_points(torch.from_numpy(dataset.features[rows]),
                                                       torch.from_numpy(dataset.types[rows]), state)
            deviations[:, p] = members.double().mean(dim=1).numpy() - cb
    return deviations, state_points


def select_self_consistent(deviations: np.ndarray, tolerance: float) -> tuple[list[int], bool]:
    """Members with |deviation| ≤ tolerance at every state point; if none, the best one and a warning flag.

    ``deviations``: (K, P). With P = 0 (nothing to judge) every member is kept, no warning.
    """
    deviations = np.abs(np.asarray(deviations, dtype=np.float64))
    if deviations.ndim != 2 or deviations.shape[0] == 0:
        raise ValueError(f"deviations must be (K ≥ 1, P), got shape {deviations.shape}")
    if deviations.shape[1] == 0:
        return list(range(deviations.shape[0])), False
    worst = deviations.max(axis=1)
    kept = [int(k) for k in np.flatnonzero(worst <= tolerance)]
    if kept:
        return kept, False
    return [int(np.argmin(worst))], True


def _phases(settings: MLPTrainingSettings) -> list[Phase]:
    return ([Phase("mse", e, r) for e, r in settings.tglass_mse_schedule]
            + [Phase("glassmlp", e, r) for e, r in settings.tglass_glassmlp_schedule])


@dataclass(frozen=True)
class _Context:
    settings: MLPTrainingSettings
    seed: int
    input_names: list[str]
    columns: np.ndarray
    n_types: int
    particle_types: tuple[int, ...]
    features: Standardiser
    state: Standardiser
    scales: dict[tuple[float, float], float]
    on_epoch: Callable[[EpochRecord], None] | None
    device: torch.device

    @property
    def feature_names(self) -> list[str]:
        return [self.input_names[i] for i in self.columns]


def _train_members(context: _Context, train: PropensityDataset, validation: PropensityDataset, n_members: int,
                   stage: str, history: list[EpochRecord]) -> TGlassMLPEnsemble:
    """An ensemble of ``n_members`` freshly seeded networks trained on ``train`` (standardisers of ``context``).

    ``train`` and ``validation`` hold every input column; the networks see the used ones.
    """
    weights = context.settings.loss()

    def batches(dataset: PropensityDataset) -> list:
        return prepare_batches(dataset.with_columns(context.columns), context.features, context.state,
                               context.n_types, context.scales, weights)

    train_batches, validation_batches = batches(train), batches(validation)
    members = []
    for member in range(n_members):
        with deterministic_torch(member_seed(context.seed, stage, member), context.settings.threads, context.device):
            net = TGlassMLPNet(len(context.columns), context.n_types)
            history += train_network(net, train_batches, validation_batches, _phases(context.settings),
                                     context.settings.patience, stage, member, context.on_epoch, weights,
                                     context.device)
        members.append(net)
    ensemble = TGlassMLPEnsemble(context.feature_names, context.n_types, members, input_names=context.input_names,
                                 particle_types=context.particle_types)
    ensemble.features.load_state_dict(context.features.state_dict())
    ensemble.state.load_state_dict(context.state.state_dict())
    return ensemble.eval()


def _distil(context: _Context, train: PropensityDataset, validation: PropensityDataset,
            unlabelled: PropensityDataset, history: list[EpochRecord],
            checks: list[SelfConsistencyCheck]) -> tuple[PropensityDataset | None, list[float]]:
    """Step 1: equal-⟨C_B⟩ networks, self-consistency per unlabelled state point, distilled rows."""
    tolerance, parts, skipped = context.settings.tolerance, [], []
    for cb in np.unique(unlabelled.target_cb):
        at_cb = np.isclose(train.target_cb, cb, rtol=0, atol=1e-9)
        if not at_cb.any():
            skipped.append(float(cb))
            continue
        stage = f"equal_cb={float(cb)!r}"
        validation_at_cb = validation.subset(np.isclose(validation.target_cb, cb, rtol=0, atol=1e-9))
        networks = _train_members(context, train.subset(at_cb), validation_at_cb,
                                  context.settings.n_networks_equal_cb, stage, history)
        target = unlabelled.subset(np.isclose(unlabelled.target_cb, cb, rtol=0, atol=1e-9))
        deviations, state_points = self_consistency_deviations(networks, target)
        for p, (temperature, point_cb) in enumerate(state_points):
            passed = np.abs(deviations[:, p]) <= tolerance
            checks += [SelfConsistencyCheck(stage, k, float(temperature), float(point_cb),
                                            float(point_cb + deviations[k, p]), bool(passed[k]))
                       for k in range(networks.n_members)]
            if not passed.any():
                continue
            rows = target.subset(target.at_state_point(temperature, point_cb))
            with torch.inference_mode():
                state = torch.tensor([[temperature, point_cb]], dtype=torch.float32).expand(networks.n_members, 2)
                members = networks.forward_at_state_points(torch.from_numpy(rows.features),
                                                           torch.from_numpy(rows.types), state)
            parts.append(rows.with_labels(members[torch.from_numpy(passed)].mean(0).numpy()))
    return (concatenate(parts) if parts else None), skipped


def _state_standardiser(train: PropensityDataset, unlabelled: PropensityDataset | None,
                        requested: np.ndarray | None) -> tuple[Standardiser, np.ndarray]:
    """The state-encoding standardiser fitted on the distinct training, unlabelled and requested state points."""
    points = [train.state_points()]
    if unlabelled is not None:
        points.append(unlabelled.state_points())
    if requested is not None and len(requested):
        requested = np.asarray(requested, dtype=np.float64).reshape(-1, 2)
        if not ((requested[:, 0] > 0).all() and ((requested[:, 1] > 0) & (requested[:, 1] <= 1)).all()):
            raise ValueError(f"requested state points need T > 0 and ⟨C_B⟩ in (0, 1], got {requested.tolist()}")
        points.append(requested)
    distinct = np.unique(np.concatenate(points), axis=0)
    return Standardiser.fitted(state_encoding_numpy(distinct[:, 0], distinct[:, 1])), distinct


def _check_distillation(train: PropensityDataset, unlabelled: PropensityDataset | None, allowed: bool) -> None:
    if unlabelled is None or allowed:
        return
    labelled = np.unique(train.temperature)
    foreign = sorted({float(t) for t in np.unique(unlabelled.temperature)
                      if not np.isclose(labelled, t, rtol=0, atol=1e-9).any()})
    if foreign:
        raise DistillationError(
            f"rows to distil at T = {foreign}, where the training rows have no labels: [J] distils only the "
            "labelled temperatures at the ⟨C_B⟩ their MD did not reach; allow it explicitly "
            "(distil_unlabelled_temperatures / the profile's propensity_learning.distillation) or leave them out")


def train_tglassmlp(
    train: PropensityDataset,
    validation: PropensityDataset,
    unlabelled: PropensityDataset | None,
    settings: MLPTrainingSettings,
    seed: int | None = None,
    on_epoch: Callable[[EpochRecord], None] | None = None,
    feature_names: Sequence[str] | None = None,
    n_types: int | None = None,
    particle_types: tuple[int, ...] | None = None,
    requested_state_points: np.ndarray | None = None,
    distil_unlabelled_temperatures: bool = False,
    device: str | torch.device = "cpu",
) -> TGlassMLPTraining:
    """Two-step tGlassMLP training (module doc); returns the kept ensemble, distilled rows and checks.

    ``train``/``validation``: labelled rows at any number of state points. ``unlabelled``: rows whose
    (T, ⟨C_B⟩) are the requested state points to distil and judge (labels, if any, are ignored); None
    or empty skips step 1; rows at a temperature without labels need ``distil_unlabelled_temperatures``.
    ``particle_types``: the types trained and predicted (None: every type in the rows).
    ``requested_state_points`` (k, 2): the (T, ⟨C_B⟩) the model will be asked about, for the state-input
    standardisation. ``seed`` defaults to ``settings.seed``; results are bitwise reproducible on the CPU.
    ``device`` (:func:`~.device.resolve_device`) is where the networks train; they are returned on the CPU.
    """
    seed = settings.seed if seed is None else int(seed)
    device = resolve_device(device)
    for name, dataset in (("train", train), ("validation", validation)):
        if dataset.labels is None:
            raise ValueError(f"train_tglassmlp: the {name} dataset must be labelled")
    unlabelled = unlabelled.with_labels(None) if unlabelled is not None and len(unlabelled) else None
    n_types = infer_n_types(*[d for d in (train, validation, unlabelled) if d is not None]) if n_types is None \
        else int(n_types)
    if particle_types is not None:
        train, validation = train.of_types(particle_types), validation.of_types(particle_types)
        unlabelled = unlabelled.of_types(particle_types) if unlabelled is not None else None
        unlabelled = unlabelled if unlabelled is not None and len(unlabelled) else None
        if not len(train):
            raise ValueError(f"the training rows hold no particle of types {list(particle_types)}")
    _check_distillation(train, unlabelled, distil_unlabelled_temperatures)
    names = list(feature_names) if feature_names is not None else default_feature_names(train.n_features)
    columns, _ = training_columns(train, names, settings)
    types = tuple(sorted(int(t) for t in np.unique(train.types))) if particle_types is None else \
        tuple(sorted(particle_types))
    state, state_points = _state_standardiser(train, unlabelled, requested_state_points)
    context = _Context(settings, seed, names, columns, n_types, types,
                       Standardiser.fitted(train.features[:, columns]), state, label_scales(train), on_epoch, device)
    history: list[EpochRecord] = []
    checks: list[SelfConsistencyCheck] = []
    distilled, skipped = (None, []) if unlabelled is None else _distil(context, train, validation, unlabelled,
                                                                       history, checks)
    full = train if distilled is None else concatenate([train, distilled])
    trained = _train_members(context, full, validation, settings.n_networks, "tglassmlp", history)

    judged_on = unlabelled if unlabelled is not None else validation
    deviations, judged_points = self_consistency_deviations(trained, judged_on)
    kept, warning = select_self_consistent(deviations, settings.tolerance)
    for k in range(trained.n_members):
        checks += [SelfConsistencyCheck("tglassmlp", k, float(t), float(cb), float(cb + deviations[k, p]),
                                        bool(abs(deviations[k, p]) <= settings.tolerance))
                   for p, (t, cb) in enumerate(judged_points)]
    if warning:
        warnings.warn(f"tGlassMLP: none of {trained.n_members} networks is self-consistent within "
                      f"{settings.tolerance} (worst deviations {np.abs(deviations).max(axis=1).round(4).tolist()}); "
                      f"keeping member {kept[0]} only", UserWarning, stacklevel=2)
    notes = {
        "seed": seed,
        "tolerance": settings.tolerance,
        "self_consistency_warning": warning,
        "judged_on": "unlabelled" if unlabelled is not None else "validation",
        "judged_state_points": judged_points.tolist(),
        "max_abs_deviation": np.abs(deviations).max(axis=1, initial=0.0).tolist(),
        "trained_state_points": train.state_points().tolist(),
        "training_temperatures": sorted(float(t) for t in np.unique(train.temperature)),
        "state_standardiser_points": state_points.tolist(),
        "distilled_state_points": [] if distilled is None else distilled.state_points().tolist(),
        "distil_unlabelled_temperatures": bool(distil_unlabelled_temperatures),
        "skipped_cb": skipped,
        "particle_types": list(types),
        "dropped_descriptors": [n for i, n in enumerate(names) if i not in set(columns.tolist())],
        "spatial_loss": bool(train.has_positions),
    }
    ensemble = TGlassMLPEnsemble(context.feature_names, n_types, [trained.members[k] for k in kept],
                                 kept_members=kept, n_trained=trained.n_members, notes=notes, input_names=names,
                                 particle_types=types)
    ensemble.features.load_state_dict(context.features.state_dict())
    ensemble.state.load_state_dict(context.state.state_dict())
    ensemble.history = history
    return TGlassMLPTraining(ensemble.eval(), distilled, checks, skipped, history)
