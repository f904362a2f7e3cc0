"""Two-step training of tGlassMLP [J §II.5, App. B] with self-consistent distillation.

Step 1, equal-⟨C_B⟩ networks: for each ⟨C_B⟩ requested by the unlabelled rows, ``n_networks_equal_cb``
networks are trained on the labelled rows at that ⟨C_B⟩ (all temperatures) and applied, at the nominal
input (T, ⟨C_B⟩), to the unlabelled rows at that ⟨C_B⟩ (lower temperatures). At each unlabelled state
point a network passes if |⟨ŷ⟩ − ⟨C_B⟩| ≤ tolerance (self-consistency: the requested average is an
input); the mean prediction of the passing networks becomes that state point's distilled labels. A
state point where none passes, or a ⟨C_B⟩ without labelled rows, gets no distilled data (reported).

Step 2: ``n_networks`` networks with different seeds on labelled + distilled rows; each is judged at
the unlabelled state points (if there are none, at the validation state points, target ⟨C_B⟩ as the
request) and kept if self-consistent at all of them. If none passes, the one with the smallest worst
deviation is kept and ``notes["self_consistency_warning"]`` is True (a ``UserWarning`` is raised too).

Each training: MSE through ``settings.tglass_mse_schedule``, then the GlassMLP loss through
``settings.tglass_glassmlp_schedule`` (:mod:`~glass_core.learning.mlp_training`); batch = one
configuration at one state point; best validation epoch of the GlassMLP-loss phase restored. The
descriptor and state-encoding standardisations are fitted on the labelled training rows only and
shared by every network of both steps.

[J] Jung, Biroli, Berthier, arXiv:2310.20252.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from glass_core.learning.glassmlp import default_feature_names, infer_n_types
from glass_core.learning.mlp_data import PropensityDataset, Standardiser, concatenate, state_encoding_numpy
from glass_core.learning.mlp_settings import MLPTrainingSettings
from glass_core.learning.mlp_training import (
    EpochRecord,
    Phase,
    deterministic_torch,
    member_seed,
    prepare_batches,
    train_network,
)
from glass_core.learning.tglassmlp import TGlassMLPEnsemble, TGlassMLPNet

__all__ = [
    "SelfConsistencyCheck",
    "TGlassMLPTraining",
    "select_self_consistent",
    "self_consistency_deviations",
    "train_tglassmlp",
]


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
    feature_names: list[str]
    n_types: int
    features: Standardiser
    state: Standardiser
    on_epoch: Callable[[EpochRecord], None] | None


def _train_members(context: _Context, train: PropensityDataset, validation: PropensityDataset, n_members: int,
                   stage: str, history: list[EpochRecord]) -> TGlassMLPEnsemble:
    """An ensemble of ``n_members`` freshly seeded networks trained on ``train`` (standardisers of ``context``)."""
    train_batches = prepare_batches(train, context.features, context.state, context.n_types)
    validation_batches = prepare_batches(validation, context.features, context.state, context.n_types)
    members = []
    for member in range(n_members):
        with deterministic_torch(member_seed(context.seed, stage, member), context.settings.threads):
            net = TGlassMLPNet(len(context.feature_names), context.n_types)
            history += train_network(net, train_batches, validation_batches, _phases(context.settings),
                                     context.settings.patience, stage, member, context.on_epoch)
        members.append(net)
    ensemble = TGlassMLPEnsemble(context.feature_names, context.n_types, members)
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


def train_tglassmlp(
    train: PropensityDataset,
    validation: PropensityDataset,
    unlabelled: PropensityDataset | None,
    settings: MLPTrainingSettings,
    seed: int | None = None,
    on_epoch: Callable[[EpochRecord], None] | None = None,
    feature_names: Sequence[str] | None = None,
    n_types: int | None = None,
) -> TGlassMLPTraining:
    """Two-step tGlassMLP training (module doc); returns the kept ensemble, distilled rows and checks.

    ``train``/``validation``: labelled rows at any number of state points. ``unlabelled``: rows whose
    (T, ⟨C_B⟩) are the requested state points to distil and judge (labels, if any, are ignored); None
    or empty skips step 1. ``seed`` defaults to ``settings.seed``; results are bitwise reproducible.
    """
    seed = settings.seed if seed is None else int(seed)
    for name, dataset in (("train", train), ("validation", validation)):
        if dataset.labels is None:
            raise ValueError(f"train_tglassmlp: the {name} dataset must be labelled")
    unlabelled = unlabelled.with_labels(None) if unlabelled is not None and len(unlabelled) else None
    names = list(feature_names) if feature_names is not None else default_feature_names(train.n_features)
    if len(names) != train.n_features:
        raise ValueError(f"feature_names has {len(names)} entries for {train.n_features} features")
    parts = [d for d in (train, validation, unlabelled) if d is not None]
    context = _Context(settings, seed, names, infer_n_types(*parts) if n_types is None else int(n_types),
                       Standardiser.fitted(train.features),
                       Standardiser.fitted(state_encoding_numpy(train.temperature, train.target_cb)), on_epoch)
    history: list[EpochRecord] = []
    checks: list[SelfConsistencyCheck] = []
    distilled, skipped = (None, []) if unlabelled is None else _distil(context, train, validation, unlabelled,
                                                                       history, checks)
    full = train if distilled is None else concatenate([train, distilled])
    trained = _train_members(context, full, validation, settings.n_networks, "tglassmlp", history)

    judged_on = unlabelled if unlabelled is not None else validation
    deviations, state_points = self_consistency_deviations(trained, judged_on)
    kept, warning = select_self_consistent(deviations, settings.tolerance)
    for k in range(trained.n_members):
        checks += [SelfConsistencyCheck("tglassmlp", k, float(t), float(cb), float(cb + deviations[k, p]),
                                        bool(abs(deviations[k, p]) <= settings.tolerance))
                   for p, (t, cb) in enumerate(state_points)]
    if warning:
        warnings.warn(f"tGlassMLP: none of {trained.n_members} networks is self-consistent within "
                      f"{settings.tolerance} (worst deviations {np.abs(deviations).max(axis=1).round(4).tolist()}); "
                      f"keeping member {kept[0]} only", UserWarning, stacklevel=2)
    notes = {
        "seed": seed,
        "tolerance": settings.tolerance,
        "self_consistency_warning": warning,
        "judged_on": "unlabelled" if unlabelled is not None else "validation",
        "judged_state_points": state_points.tolist(),
        "max_abs_deviation": np.abs(deviations).max(axis=1, initial=0.0).tolist(),
        "trained_state_points": train.state_points().tolist(),
        "distilled_state_points": [] if distilled is None else distilled.state_points().tolist(),
        "skipped_cb": skipped,
    }
    ensemble = TGlassMLPEnsemble(names, context.n_types, [trained.members[k] for k in kept], kept_members=kept,
                                 n_trained=trained.n_members, notes=notes)
    ensemble.features.load_state_dict(context.features.state_dict())
    ensemble.state.load_state_dict(context.state.state_dict())
    ensemble.history = history
    return TGlassMLPTraining(ensemble.eval(), distilled, checks, skipped, history)
