"""Warehouses made by earlier releases, brought up to the current :data:`~glass_assets.warehouse.schema.SCHEMA`.

Every time the warehouse is opened for writing (:meth:`Warehouse.ensure_writable
<glass_assets.warehouse.store.Warehouse.ensure_writable>`) the columns added since a table's first release are
added (NULL in old rows), the columns that may now hold NULL lose their NOT NULL, and NaN written for "undefined"
by earlier releases becomes NULL.
"""

from __future__ import annotations

__all__ = ["ADDED_COLUMNS", "NAN_TO_NULL_COLUMNS", "RELAXED_COLUMNS"]


#: columns added to a table after its first release: warehouses made before gain them (NULL in old rows)
ADDED_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("propensity", "bond_breaking_half_a", "DOUBLE"),
    ("propensity", "bond_breaking_half_b", "DOUBLE"),
    ("mlp_scores", "time", "DOUBLE"),
    ("mlp_scores", "reason", "VARCHAR"),
    ("cooling_rate_correlations", "cnn_input", "VARCHAR"),
    ("cooling_rate_summary", "cnn_input", "VARCHAR"),
    ("cooling_rate_summary", "n_glasses", "INTEGER"),
    ("cooling_rate_summary", "n_classified_glass", "INTEGER"),
    ("state_points", "particle_type", "VARCHAR"),
    ("propensity_predictions", "members", "FLOAT[]"),
    ("propensity_predictions", "particle_type", "VARCHAR"),
    ("prediction_state_points", "member_state_input_cb", "DOUBLE[]"),
    ("prediction_state_points", "extrapolation_spans", "DOUBLE"),
    ("prediction_state_points", "particle_type", "VARCHAR"),
    ("heterogeneity", "particle_type", "VARCHAR"),
    ("heterogeneity", "network_spread", "DOUBLE"),
    ("heterogeneity", "n_networks", "INTEGER"),
    ("dynamic_lengths", "particle_type", "VARCHAR"),
    ("dynamic_lengths", "network_spread", "DOUBLE"),
    ("dynamic_lengths", "n_networks", "INTEGER"),
    ("attention_distributions", "particle_type", "VARCHAR"),
    ("four_point_structure_factor", "particle_type", "VARCHAR"),
    ("four_point_structure_factor", "network_spread", "DOUBLE"),
    # the classifier gate: whether the CNN behind a Grad-CAM row is resolved above cnn.gate_accuracy
    ("grad_cam", "classifier_status", "VARCHAR"),
    ("grad_cam", "classifier_accuracy", "DOUBLE"),
    ("grad_cam", "classifier_n", "INTEGER"),
    ("indicator_correlations", "classifier_status", "VARCHAR"),
    ("indicator_correlation_summary", "classifier_status", "VARCHAR"),
    ("grad_cam_dynamics", "classifier_status", "VARCHAR"),
    ("grad_cam_dynamics_curve", "classifier_status", "VARCHAR"),
    ("grad_cam_dynamics_maxima", "classifier_status", "VARCHAR"),
    ("cooling_rate_correlations", "classifier_status", "VARCHAR"),
    ("cooling_rate_summary", "classifier_status", "VARCHAR"),
)

#: columns that were NOT NULL in an earlier release and may now hold NULL (warehouses made before are relaxed)
RELAXED_COLUMNS: tuple[tuple[str, str], ...] = (("indicator_correlations", "model_version"),)

#: columns where earlier releases wrote NaN for "undefined": rows written before are set to NULL on open
NAN_TO_NULL_COLUMNS: tuple[tuple[str, str], ...] = (
    ("propensity_summary", "tau_alpha"),
    ("grad_cam_dynamics", "correlation"),
    ("indicator_correlations", "value"),
)
