"""Study settings of the tests' tiny profiles."""

from __future__ import annotations

from pathlib import Path

from tests.helpers.paths import TINY_PROFILES


def tiny_study(tmp_path: Path, profile: str = "tiny"):  # noqa: ANN201 - a glass_assets StudySettings
    """Study settings of a profile of ``tests/tiny_profiles.yaml`` with scratch under ``tmp_path``."""
    from glass_assets.resources import StudySettings

    return StudySettings(profile=profile, profiles_file=str(TINY_PROFILES), scratch_dir=str(tmp_path / "scratch"))
