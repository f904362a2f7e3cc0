"""What the propensity trainings (GlassMLP [G], tGlassMLP [J] and the held-out test) read: the campaign's labelled
and unlabelled temperatures, the study's data and settings, and the split of the labelled rows.

Every training uses the same split of configurations (the profile's ``training.split_fractions`` and ``seed``)
and the profile's particle types (``propensity_learning.particle_types``; [J]: type A).
"""

from dataclasses import dataclass

from glass_assets.campaign import load_campaign
from glass_assets.propensity_learning.datasets import StudyData, study_data
from glass_assets.resources import StudySettings, WarehouseResource
from glass_core.learning.mlp_data import PropensityDataset, split_by_configuration
from glass_core.learning.mlp_settings import MLPTrainingSettings

__all__ = ["StudyInputs", "campaign_temperatures", "load_study", "study_splits"]


def campaign_temperatures(system: str) -> tuple[list[float], list[float]]:
    """(labelled, unlabelled) temperatures of ``system`` in the campaign: MD labels, and swap-MC equilibria only."""
    campaign = load_campaign()
    labelled = sorted(float(t) for s, t in campaign.for_stage("propensity") if s == system)
    unlabelled = sorted(float(t) for s, t in campaign.for_stage("swap_mc") if s == system and float(t) not in labelled)
    return labelled, unlabelled


@dataclass(frozen=True)
class StudyInputs:
    """What both trainings read: the data, the training settings, the particle types (indices and label) and the
    profile's distillation choice."""

    data: StudyData
    training: MLPTrainingSettings
    types: tuple[int, ...]
    type_label: str
    distillation: str


def load_study(study: StudySettings, warehouse: WarehouseResource, system: str) -> StudyInputs:
    settings = study.load().propensity_learning
    training = MLPTrainingSettings.from_mapping(settings.training)
    labelled, unlabelled = campaign_temperatures(system)
    data = study_data(warehouse.get(), system, labelled, unlabelled, list(settings.state_point_targets),
                      settings.distillation)
    return StudyInputs(data, training, settings.type_indices(system), settings.type_label(system),
                       settings.distillation)


def study_splits(study: StudyInputs) -> tuple[PropensityDataset, PropensityDataset, PropensityDataset]:
    """(train, validation, test) of the labelled rows by configuration, the model's particle types only."""
    splits = split_by_configuration(study.data.labelled, study.training.split_fractions, study.training.seed)
    return tuple(d.of_types(study.types) for d in splits)  # type: ignore[return-value]
