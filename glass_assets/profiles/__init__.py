"""Study profiles (``profiles.yaml``): sizes and protocols chosen by configuration, not code edits.

The package: the :class:`Profile`, how a profiles file is read and validated, and the profile the platform runs
with (:mod:`.loading`); the settings of each section, as frozen dataclasses that check their own values — how
configurations are simulated (:mod:`.simulation`: quench, isoconfigurational runs, swap MC, inherent structures,
large boxes, the cooling-rate study) and what is computed and learned from them (:mod:`.analysis`: descriptors,
the CNN, propensity learning, dynamic heterogeneity, the networks' device); YAML values to typed settings and the
checks every section shares (:mod:`.parsing`).
"""

# ``X as X``: imported from here by other modules, outside __all__ as before (SECTIONS by glass_assets.provenance,
# ComputeSettings by glass_assets.registry.cnn_split)
from glass_assets.profiles.analysis import (
    CNNSettings,
    DescriptorSettings,
    HeterogeneitySettings,
    PropensityLearningSettings,
)
from glass_assets.profiles.analysis import ComputeSettings as ComputeSettings
from glass_assets.profiles.loading import (
    PROFILES_FILE,
    Profile,
    ProvenanceSettings,
    configured_profile,
    load_profile,
    setting_paths,
    validate_profiles_file,
)
from glass_assets.profiles.loading import SECTIONS as SECTIONS
from glass_assets.profiles.parsing import ProfileError
from glass_assets.profiles.simulation import (
    CoolingRateStudySettings,
    InherentStructureSettings,
    LargeBoxSettings,
    PropensitySettings,
    QuenchSettings,
    SwapMCSettings,
)

__all__ = [
    "PROFILES_FILE",
    "CNNSettings",
    "CoolingRateStudySettings",
    "DescriptorSettings",
    "HeterogeneitySettings",
    "InherentStructureSettings",
    "LargeBoxSettings",
    "Profile",
    "ProfileError",
    "PropensityLearningSettings",
    "PropensitySettings",
    "ProvenanceSettings",
    "QuenchSettings",
    "SwapMCSettings",
    "configured_profile",
    "load_profile",
    "setting_paths",
    "validate_profiles_file",
]
