"""Code version recorded with every materialization: the asset's logic version and the git commit."""

from __future__ import annotations

import functools
import subprocess

from glass_assets.paths import REPO_ROOT

__all__ = [
    "CNN_CODE_VERSION",
    "COOLING_RATE_CODE_VERSION",
    "CORRELATIONS_CODE_VERSION",
    "DESCRIPTORS_CODE_VERSION",
    "GLASSBENCH_SAMPLES_CODE_VERSION",
    "GLASSBENCH_SCORES_CODE_VERSION",
    "GLASSMLP_CODE_VERSION",
    "GRAD_CAM_CODE_VERSION",
    "GRAD_CAM_DYNAMICS_CODE_VERSION",
    "HETEROGENEITY_CODE_VERSION",
    "INHERENT_CODE_VERSION",
    "LARGE_BOX_CODE_VERSION",
    "MLP_DESCRIPTORS_CODE_VERSION",
    "PREDICTIONS_CODE_VERSION",
    "PROPENSITY_CODE_VERSION",
    "QUENCH_CODE_VERSION",
    "REPORT_CODE_VERSION",
    "S4_CODE_VERSION",
    "STATE_POINTS_CODE_VERSION",
    "SWAP_MC_CODE_VERSION",
    "TGLASSMLP_CODE_VERSION",
    "TRANSFERABILITY_CODE_VERSION",
    "code_version_tag",
    "git_commit",
]

#: Each asset's logic version: Dagster's ``code_version`` and the ``code_version`` column of its rows.
#: Bump one when the asset's numbers would change for the same inputs.
QUENCH_CODE_VERSION = "quench-v1"
SWAP_MC_CODE_VERSION = "swap-mc-v1"
INHERENT_CODE_VERSION = "inherent-v1"
DESCRIPTORS_CODE_VERSION = "descriptors-v1"  # structural_descriptors (Θ, Υ of every configuration)
CNN_CODE_VERSION = "cnn-v3"  # v2: input kind (density / per_type) from the profile; champion on validation
# v3: accuracies with n, binomial SE and Wilson interval; classifier gate; champion only on a large enough split
GRAD_CAM_CODE_VERSION = "grad-cam-v2"  # v2: rows marked with the classifier gate's verdict
CORRELATIONS_CODE_VERSION = "correlations-v3"  # v2: C(1−Θ,Υ) on every configuration, summaries ± SE; v3: gated
PROPENSITY_CODE_VERSION = "propensity-v3"  # v2: abm/kam glasses from the CNN test split first; v3: split halves
GRAD_CAM_DYNAMICS_CODE_VERSION = "grad-cam-dynamics-v3"  # v2: training glasses left out, curve ± SE; v3: gated
COOLING_RATE_CODE_VERSION = "cooling-rate-v3"  # v2: C(Γ,·) per CNN input; stored glasses reused; v3: gated CNNs
#: propensity learning ([J]): descriptors, labels, the two model kinds, predictions, transferability
MLP_DESCRIPTORS_CODE_VERSION = "mlp-descriptors-v1"
STATE_POINTS_CODE_VERSION = "state-points-v2"
GLASSMLP_CODE_VERSION = "glassmlp-v2"
TGLASSMLP_CODE_VERSION = "tglassmlp-v2"
PREDICTIONS_CODE_VERSION = "propensity-predictions-v2"
TRANSFERABILITY_CODE_VERSION = "transferability-v1"
#: dynamic heterogeneity ([J]): lengths and χ4, the large boxes and their S4(q)
HETEROGENEITY_CODE_VERSION = "heterogeneity-v2"
LARGE_BOX_CODE_VERSION = "large-box-v1"
S4_CODE_VERSION = "four-point-structure-factor-v2"
#: GlassBench
GLASSBENCH_SAMPLES_CODE_VERSION = "glassbench-samples-v1"
GLASSBENCH_SCORES_CODE_VERSION = "glassbench-scores-v2"
#: the paper report
REPORT_CODE_VERSION = "paper-report-v2"
#: campaign_proposals: the gain model of glass_core.learning.campaign_gain
PROPOSALS_CODE_VERSION = "campaign-proposals-v1"


@functools.cache
def git_commit() -> str:
    """Short hash of the checked-out commit (with ``+dirty`` for local changes), or ``unknown``."""
    root = REPO_ROOT
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True, check=True, timeout=10
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def code_version_tag(asset_version: str) -> str:
    """``<asset version>@<git commit>``, e.g. ``quench-v1@ce6838b``."""
    return f"{asset_version}@{git_commit()}"
