"""Where the tests find the project and their own files, whatever folder a test lives in."""

from pathlib import Path

#: the repository root
ROOT = Path(__file__).resolve().parents[2]
TESTS = ROOT / "tests"
#: the tests' study profiles (tiny systems)
TINY_PROFILES = TESTS / "tiny_profiles.yaml"
#: reviewed snapshots: the asset graph and the campaign it is built from
SNAPSHOTS = TESTS / "snapshots"
