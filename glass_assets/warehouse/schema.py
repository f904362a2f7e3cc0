"""The warehouse's tables: one row per what, the meaning of every column, and the DuckDB columns (:data:`SCHEMA`).

Tables (one row per …):

``samples`` — configuration.
    system, temperature, ensemble ('quenched', …), sample, seed, n_particles, box_x, box_y,
    potential_energy (total, LAMMPS, ε), energy_per_particle, kinetic_temperature (mean over the second
    half of the hold), md_steps, wall_seconds, protocol (JSON), code_version, run_id, created_at.
``particles`` — particle of a configuration.
    system, temperature, ensemble, sample, particle (0-based id), type (0 = A, 1 = B, …), x, y
    (wrapped into [0, box)).
``cooling_curves`` — thermo point of a quench run.
    system, temperature, ensemble, sample, phase ('equil', 'cool', 'hold'), step, time, t_set
    (thermostat set point), kinetic_temperature, energy_per_particle.
``descriptors`` — particle of a configuration: Oyama et al.'s structural indicators.
    system, temperature, ensemble, sample, particle, voronoi_area (Υ), tong_tanaka (Θ, radians),
    voronoi_area_cg and one_minus_theta_cg (coarse-grained with ξ = 3, min–max normalised to [0, 1]).
``grad_cam`` — particle of a correctly classified test configuration.
    system, temperature, ensemble, sample, particle, label ('liquid'/'glass', the Grad-CAM class),
    gamma (Γ, raw), gamma_cg (coarse-grained, normalised), model_name, model_version, classifier_status
    ('resolved' or 'classifier_unresolved': whether the CNN's validation accuracy is resolved above the profile's
    ``cnn.gate_accuracy``, ``glass_core.learning.classifier_gate``; NULL in rows written before the gate),
    classifier_accuracy and classifier_n (that CNN's validation accuracy k/n and n, as logged in MLflow).
``indicator_correlations`` — (configuration, field pair, method).
    system, temperature, ensemble, sample, label, pair ('gamma~upsilon', 'gamma~one_minus_theta',
    'one_minus_theta~upsilon'), method ('pearson'/'spearman'), value (NULL where a field is constant),
    model_version (the CNN behind Γ; NULL for 'one_minus_theta~upsilon', which needs no CNN and covers every
    configuration of the T_G and T_L ensembles, not only the CNN's test configurations), classifier_status (of
    the CNN behind Γ, as in ``grad_cam``; NULL for the pair without Γ).
``indicator_correlation_summary`` — (class, field pair, method) of a system's ``indicator_correlations``.
    system, label, pair, method, subset ('test': correctly classified CNN test configurations; 'all': every
    configuration), mean, stderr (sd/√n, sd with ddof = 1; NULL for n = 1), std (NULL for n = 1), n
    (configurations with a defined value), n_undefined, model_version (NULL for 'all'), classifier_status (as in
    ``indicator_correlations``: a Γ row of an unresolved classifier is kept for diagnosis, never a finding).
``propensity`` — (particle, frame) of an isoconfigurational ensemble.
    system, temperature (the run temperature), ensemble and source_temperature (where the initial
    structure comes from), sample, particle, frame, time, crsd (Δ_i, cage-relative squared displacement),
    bond_breaking (⟨C_B^i⟩, NaN without initial bonds), n_bonds (n_i(0)), bond_breaking_half_a and
    bond_breaking_half_b (the same average over the even- and the odd-numbered replicas: split-half
    reliability of the labels; NULL for a single replica).
``propensity_summary`` — (configuration, frame).
    system, temperature, ensemble, source_temperature, sample, frame, time, mean_bond_breaking (⟨C_B⟩),
    cage_clock (δ), tau_alpha (first t where this configuration's all-particle ⟨C_B⟩ = 1/e, see
    ``glass_core.dynamics.propensity.relaxation_time``; NULL, never NaN, when τ_α lies beyond the run), n_replicas.
``swap_mc_traces`` — trace point of a swap-MC chain.
    system, temperature, ensemble ('swap_mc'), chain, sweep, energy_per_particle.
``inherent_structures`` — minimised configuration (its particles: ``particles`` with ensemble 'inherent').
    system, temperature, sample, energy, initial_energy, force_norm (|F|₂), max_force, iterations, converged.
``grad_cam_dynamics`` — (glass, run temperature, frame).
    system, temperature (run), sample, frame, time, cage_clock (δ of that glass), correlation
    (Pearson C(Γ, 1 − Δ), both coarse-grained and normalised; NULL, never NaN, where Δ is constant: frame 0),
    in_training (false: glasses the CNN trained on are left out; older rows may hold true), model_version,
    classifier_status (as in ``grad_cam``). Only correctly classified glasses outside the CNN's training split.
``grad_cam_dynamics_curve`` — (run temperature, frame): the mean [O] Fig. 4 curve over the glasses.
    system, temperature, frame, time, cage_clock (mean δ), correlation (mean C(Γ, 1 − Δ)), stderr (sd/√n,
    ddof = 1; NULL for n = 1), n (glasses with a defined value), model_version, classifier_status. Frame 0 is
    left out.
``grad_cam_dynamics_maxima`` — (glass, run temperature): max over frames of that glass's C(Γ, 1 − Δ).
    system, temperature, sample, frame, time, cage_clock (δ where it is reached), correlation (the maximum),
    model_version, classifier_status.
``mlp_descriptors`` — particle of a configuration: the physics-inspired descriptors of [J] (wide, as a list).
    system, temperature, ensemble ('inherent': computed on inherent structures), sample, particle, type,
    features (FLOAT[M], unstandardised; the column order is ``mlp_feature_names``).
``mlp_feature_names`` — feature of a (system, temperature) descriptor partition.
    system, temperature, position (0-based index into ``features``), name ('EPOT_A_L2.0'), observable
    (DEN/EPOT/PERI/VAR), channel (A, B, C, all), length (L, σ; 0 = the particle alone).
``state_point_labels`` — particle of a labelled configuration at one state point (T, ⟨C_B⟩) [J].
    system, temperature, target_cb (the state point's ⟨C_B⟩), sample, particle, type, time (where ⟨C_B⟩, averaged
    over the configurations and the particle_type of ``state_points``, crosses target_cb), propensity (⟨C_B^i⟩_iso
    at that time; NULL without bonds), propensity_half_a / _half_b (even / odd replicas; NULL for one replica).
``state_points`` — reached state point of a labelled temperature.
    system, temperature, target_cb, time, mean_bond_breaking (mean label of the particle_type), n_configurations,
    n_replicas, split_half_r (Pearson of the two replica halves), ceiling (√ of its Spearman–Brown reliability),
    particle_type (the particles whose mean ⟨C_B⟩ defines the state point: 'A' by default, [J]'s type 1; older
    rows NULL: all particles).
``mlp_scores`` — (model version, predictor, state point, split, particle subset).
    system, model_name (glassmlp_<system>/tglassmlp_<system>), model_version, predictor ('glassmlp',
    'tglassmlp', 'best_descriptor:<name>', 'ceiling'), temperature, target_cb, split, subset ('A'/'all'),
    pearson (mean over the configurations where it is defined; NULL, never NaN, where none is), stderr,
    n_configurations (configurations with a defined coefficient), time (NULL except split 'glassbench'), reason (why
    pearson is NULL or why configurations were left out of the mean, e.g. 'labels constant (all = 1) in 2 of 2
    configurations: Pearson undefined'; NULL when every configuration counts; rows of older releases: NULL).
    Split 'glassbench' (asset ``glassbench_scores``): the champion scored on GlassBench KA2D labels; temperature
    is GlassBench's, target_cb the measured ⟨C_B⟩ of its labels (all particles) at ``time`` (the file's LJ time);
    subset 'A' for every predictor, 'all' only for a model that predicts every type; the baseline rows are stored
    under the tGlassMLP champion's model_name/version.
``glassbench_labels`` — particle of a GlassBench KA2D structure × time (asset ``glassbench_samples``).
    system, temperature, sample (the structure; its configurations are ``samples``/``particles`` rows of
    ensembles 'glassbench' and 'glassbench_inherent'), particle, type, time (LJ, from the file's tcNN code),
    propensity (⟨C_B^i(t)⟩ over the file's replicas by the platform's bond-breaking functions; NULL without
    bonds), mean_bond_breaking (⟨C_B⟩ of that structure at that time), n_replicas, source (the file).
``propensity_predictions`` — particle of a swap-MC equilibrium × requested ⟨C_B⟩.
    system, temperature, target_cb, sample, particle, type, predicted (mean of the kept tGlassMLP networks),
    spread (their standard deviation), model_version, members (FLOAT[K]: each kept network's prediction, for
    per-network χ4 and lengths), particle_type (the model's particle subset: 'A', 'all', …). Only particles of the
    model's types have rows.
``prediction_state_points`` — (temperature, requested ⟨C_B⟩) of a prediction partition.
    system, temperature, target_cb (requested), achieved_cb (mean prediction), state_input_cb (the state-point
    input that achieved it), iterations, n_networks, n_configurations, md_pearson / md_pearson_stderr (against
    MD labels where they exist, else NULL), model_version, member_state_input_cb (DOUBLE[K]: each network's own
    iterated input), extrapolation_spans (how far 1/T lies outside the model's training temperatures, in training
    spans; 0 inside), particle_type.
``heterogeneity`` — (temperature, state point or time, source, observable) of dynamic heterogeneity [J].
    system, temperature, target_cb (the state point's ⟨C_B⟩; NULL for rows against time), time (LJ time of a
    frame of the isoconfigurational MD; NULL for state-point rows), source ('md': MD labels, 'ml': champion
    tGlassMLP predictions), observable ('chi4': (⟨Q²⟩ − ⟨Q⟩²)/N of the propensity, its configurational part;
    'chi4_normalised': χ4 over the single-particle variance; 'chi4_full': thermal + configurational χ4 of single
    trajectories from the split replica halves, MD only, R ≥ 2; 'chord_length': ℓ_ch, σ), value, stderr
    (bootstrap over configurations for χ4, standard error over configurations for ℓ_ch; NULL for one
    configuration), n_configurations, particle_type (the particles the field covers: 'A' by default, [J]),
    network_spread and n_networks (source 'ml': value is the mean over the kept networks of each network's own
    χ4 / ℓ_ch, stderr the mean of their configuration errors, network_spread their standard deviation, [J]'s
    error bar). A state point with fewer than two configurations has no χ4 row.
``dynamic_lengths`` — (temperature, state point, source, length) of a dynamic length scale [J].
    system, temperature, target_cb, source ('md'/'ml'), length ('xi4': Ornstein–Zernike ξ4 of S4(q) on large
    boxes; 'chord': ℓ_ch; 'attention': ⟨L⟩ of the champion tGlassMLP's attention), value (σ; NULL where a fit is
    not resolved), stderr (fit uncertainty / SE over configurations / standard deviation across the kept
    networks for 'attention'), n_configurations (NULL for 'attention'), fit_q_min, fit_q_max (the OZ fit range,
    'xi4' only), resolved, reason (whether a small-q plateau was resolved and why not; 'xi4' only), particle_type,
    network_spread and n_networks (source 'ml': spread over the kept networks of each network's own length;
    source 'random_field', length 'chord': ℓ_ch of independent random fields on the same particles, the floor
    of a correlated field). Each asset
    replaces only its own rows: (system, temperature, length) for 'chord' and 'xi4', (system, length) for the
    per-system 'attention'.
``attention_distributions`` — (state point, coarse-graining length L) of the champion tGlassMLP [J].
    system, temperature, target_cb, state_input_cb (the state-point input used: the self-consistent one of
    ``prediction_state_points`` where it exists for this model version, else target_cb), coarse_graining_length
    (L, σ), probability (P(L), mean over networks), spread (its standard deviation across them), n_networks,
    model_version.
``transferability`` — (held-out temperature, state point, observable, source) of the held-out test [J].
    system, held_out_temperature (labelled temperature left out of training), target_cb, particle_type,
    observable ('pearson': per-configuration Pearson of prediction and MD labels; 'chi4'; 'chord_length' (σ);
    'cb_error': mean prediction at the nominal state input minus the requested ⟨C_B⟩; 'random_field_chord'),
    source ('ml': the held-out model, 'md': the MD labels there, 'random_field'), value, stderr (over
    configurations), network_spread (across the kept networks, 'ml'), n_configurations, n_networks,
    extrapolation_spans (of the held-out T from the model's training temperatures), training_temperatures
    (JSON list), mlflow_run_id (the held-out model's run).
``large_box_traces`` — overlap record of a tiled, re-equilibrated large box (its particles: ``particles``
    with ensemble 'large_swap_mc', minimised: 'large_inherent').
    system, temperature, sample (the small swap-MC equilibrium it was tiled from), sweep, overlap (self overlap
    Q with the tiled start, a = 0.3), energy_per_particle.
``four_point_structure_factor`` — |q| shell of S4(q) of the predicted propensity on the large boxes.
    system, temperature, target_cb, q (mean |q| of the shell), s4, stderr (over boxes; NULL for one box),
    n_vectors (half-plane wave vectors in the shell).
``cooling_rate_correlations`` — (glass, field pair, method) of the cooling-rate study (asset ``cooling_rate_study``).
    system, cooling_rate (|dT/dt| of the quench to T_G), sample (the glass; its configuration is a ``samples`` /
    ``particles`` row of ensemble 'quenched_rate_<rate>' at T_G), pair ('one_minus_theta~upsilon', or the Grad-CAM
    pairs 'gamma~upsilon', 'gamma~one_minus_theta'), cnn_input (the study CNN's input kind, 'density'/'per_type',
    for a Grad-CAM pair; NULL otherwise), method ('pearson'/'spearman'), value (C of the coarse-grained (ξ)
    normalised fields of that glass; NULL for a constant field), classifier_status (of that CNN, see
    ``cooling_rate_cnns``; NULL for the pair without Γ). A Grad-CAM pair has rows only for the glasses the CNN
    classifies as glass.
``campaign_proposals`` — candidate actions of a system ranked by predicted gain per CPU-hour
    (:mod:`glass_assets.proposals`): system, proposal_id, rank, action ('label_temperature', 'extend_window',
    'add_configurations', 'add_equilibria'), temperature, parameters (JSON), gain (ΔE² predicted), cpu_hours,
    gain_per_cpu_hour, objective_before/after (ΣE²), spread_before (mean relative network spread of χ4, measured)
    and spread_after (predicted), note,
    accept_via ('campaign' or 'profile'), profile_edit (the setting a 'profile' action needs), naive (the next
    temperature 0.1 below the coldest labelled one), inputs_digest and campaign_digest (what it was made from).
``proposal_acceptances`` — one per accepted proposal: its numbers at acceptance, accepted_by ('cli', 'ui',
    'autopilot'), accepted_at, spread_before, inputs_digest, campaign_edit (the line written).
``proposal_outcomes`` — predicted against realised for each accepted proposal whose work is done: metric
    ('objective', 'mean_relative_spread'), before, predicted, realised and their changes, cpu_hours_predicted.
``compute_usage`` — what the newest materialization of each asset partition cost (bookkeeping, not digested;
    :mod:`glass_assets.compute_accounting`): asset, partition_key, run_id, stage, component ('step' or a launcher
    task kind), source ('process', 'worker' or 'sacct'), device, n_tasks, n_items, cpus (allocated per task),
    wall_s, cpu_s, gpu_s, peak_rss_mb, cpu_efficiency (cpu_s / (wall_s × cpus)), recorded_at.
``row_sets`` — one per (table, partition key) of rows written by :meth:`Warehouse.replace_partitions`, in the same
    transaction: table_name, row_key (the key's columns and values as JSON), asset and partition_key (the Dagster
    asset and partition that wrote them; NULL outside an asset step), n_rows, data_digest (count and order-free sum
    of DuckDB row hashes over the columns that are data, :data:`glass_assets.provenance.VOLATILE_COLUMNS` left out),
    hash_method, profile (name), settings_digest and settings (JSON ``section.key`` → digest of each profile setting
    the rows depend on), run_id, code_version, write_seq (order of writes), written_at.
``cooling_rate_summary`` — (cooling rate, pair, CNN input, method) of a system's ``cooling_rate_correlations``.
    system, cooling_rate, pair, cnn_input, method, n_particles, temperature (T_G), mean, stderr (sd/√n, ddof = 1;
    NULL for n = 1), std, n (glasses with a defined value), n_undefined, n_glasses (glasses quenched at the rate),
    n_classified_glass (of those, classified as glass by the CNN; NULL without a CNN), paper_value ([O]'s mean over
    its glasses, NULL where [O] gives none and for a Grad-CAM row of an unresolved classifier), paper_cooling_rate
    ([O]: 8.33e-5), energy_per_particle (mean E/N of the glasses, LAMMPS) and energy_stderr, classifier_status.
``cooling_rate_cnns`` — (CNN input, subset) of the cooling-rate study's CNNs: how well each classifies.
    system, cnn_input, subset ('validation', 'test', and per class 'validation_liquid', …), n_particles (of its
    training box), accuracy (k/n), n, n_correct, stderr (binomial √(p(1 − p)/n)), wilson_low, wilson_high (Wilson
    score interval at 2 SE), gate_accuracy (the profile's threshold), classifier_status (of the CNN, from its
    validation accuracy), mlflow_run_id.
"""

from __future__ import annotations

__all__ = ["BOOKKEEPING_TABLES", "SCHEMA"]


SCHEMA: dict[str, str] = {
    "samples": """
        system VARCHAR NOT NULL, temperature DOUBLE NOT NULL, ensemble VARCHAR NOT NULL,
        sample INTEGER NOT NULL, seed BIGINT NOT NULL, n_particles INTEGER NOT NULL,
        box_x DOUBLE NOT NULL, box_y DOUBLE NOT NULL,
        potential_energy DOUBLE NOT NULL, energy_per_particle DOUBLE NOT NULL,
        kinetic_temperature DOUBLE, md_steps BIGINT, wall_seconds DOUBLE,
        protocol VARCHAR, code_version VARCHAR, run_id VARCHAR, created_at TIMESTAMP DEFAULT current_timestamp,
        PRIMARY KEY (system, temperature, ensemble, sample)""",
    "particles": """
        system VARCHAR NOT NULL, temperature DOUBLE NOT NULL, ensemble VARCHAR NOT NULL,
        sample INTEGER NOT NULL, particle INTEGER NOT NULL, type TINYINT NOT NULL,
        x DOUBLE NOT NULL, y DOUBLE NOT NULL""",
    "cooling_curves": """
        system VARCHAR NOT NULL, temperature DOUBLE NOT NULL, ensemble VARCHAR NOT NULL,
        sample INTEGER NOT NULL, phase VARCHAR NOT NULL, step BIGINT NOT NULL, time DOUBLE NOT NULL,
        t_set DOUBLE NOT NULL, kinetic_temperature DOUBLE NOT NULL, energy_per_particle DOUBLE NOT NULL""",
    "descriptors": """
        system VARCHAR NOT NULL, temperature DOUBLE NOT NULL, ensemble VARCHAR NOT NULL,
        sample INTEGER NOT NULL, particle INTEGER NOT NULL, voronoi_area DOUBLE NOT NULL,
        tong_tanaka DOUBLE, voronoi_area_cg DOUBLE NOT NULL, one_minus_theta_cg DOUBLE""",
    "grad_cam": """
        system VARCHAR NOT NULL, temperature DOUBLE NOT NULL, ensemble VARCHAR NOT NULL,
        sample INTEGER NOT NULL, particle INTEGER NOT NULL, label VARCHAR NOT NULL,
        gamma DOUBLE NOT NULL, gamma_cg DOUBLE NOT NULL, model_name VARCHAR NOT NULL, model_version VARCHAR NOT NULL,
        classifier_status VARCHAR, classifier_accuracy DOUBLE, classifier_n INTEGER""",
    "indicator_correlations": """
        system VARCHAR NOT NULL, temperature DOUBLE NOT NULL, ensemble VARCHAR NOT NULL,
        sample INTEGER NOT NULL, label VARCHAR NOT NULL, pair VARCHAR NOT NULL, method VARCHAR NOT NULL,
        value DOUBLE, model_version VARCHAR, classifier_status VARCHAR""",
    "indicator_correlation_summary": """
        system VARCHAR NOT NULL, label VARCHAR NOT NULL, pair VARCHAR NOT NULL, method VARCHAR NOT NULL,
        subset VARCHAR NOT NULL, mean DOUBLE, stderr DOUBLE, std DOUBLE, n INTEGER NOT NULL,
        n_undefined INTEGER NOT NULL, model_version VARCHAR, classifier_status VARCHAR""",
    "propensity": """
        system VARCHAR NOT NULL, temperature DOUBLE NOT NULL, ensemble VARCHAR NOT NULL,
        source_temperature DOUBLE NOT NULL, sample INTEGER NOT NULL, particle INTEGER NOT NULL,
        frame INTEGER NOT NULL, time DOUBLE NOT NULL, crsd DOUBLE NOT NULL, bond_breaking DOUBLE,
        n_bonds INTEGER NOT NULL, bond_breaking_half_a DOUBLE, bond_breaking_half_b DOUBLE""",
    "propensity_summary": """
        system VARCHAR NOT NULL, temperature DOUBLE NOT NULL, ensemble VARCHAR NOT NULL,
        source_temperature DOUBLE NOT NULL, sample INTEGER NOT NULL, frame INTEGER NOT NULL, time DOUBLE NOT NULL,
        mean_bond_breaking DOUBLE, cage_clock DOUBLE NOT NULL, tau_alpha DOUBLE, n_replicas INTEGER NOT NULL""",
    "swap_mc_traces": """
        system VARCHAR NOT NULL, temperature DOUBLE NOT NULL, ensemble VARCHAR NOT NULL, chain INTEGER NOT NULL,
        sweep BIGINT NOT NULL, energy_per_particle DOUBLE NOT NULL""",
    "inherent_structures": """
        system VARCHAR NOT NULL, temperature DOUBLE NOT NULL, sample INTEGER NOT NULL, energy DOUBLE NOT NULL,
        initial_energy DOUBLE NOT NULL, force_norm DOUBLE NOT NULL, max_force DOUBLE NOT NULL,
        iterations INTEGER NOT NULL, converged BOOLEAN NOT NULL""",
    "grad_cam_dynamics": """
        system VARCHAR NOT NULL, temperature DOUBLE NOT NULL, sample INTEGER NOT NULL, frame INTEGER NOT NULL,
        time DOUBLE NOT NULL, cage_clock DOUBLE NOT NULL, correlation DOUBLE, in_training BOOLEAN NOT NULL,
        model_version VARCHAR NOT NULL, classifier_status VARCHAR""",
    "grad_cam_dynamics_curve": """
        system VARCHAR NOT NULL, temperature DOUBLE NOT NULL, frame INTEGER NOT NULL, time DOUBLE NOT NULL,
        cage_clock DOUBLE NOT NULL, correlation DOUBLE, stderr DOUBLE, n INTEGER NOT NULL,
        model_version VARCHAR NOT NULL, classifier_status VARCHAR""",
    "grad_cam_dynamics_maxima": """
        system VARCHAR NOT NULL, temperature DOUBLE NOT NULL, sample INTEGER NOT NULL, frame INTEGER NOT NULL,
        time DOUBLE NOT NULL, cage_clock DOUBLE NOT NULL, correlation DOUBLE NOT NULL,
        model_version VARCHAR NOT NULL, classifier_status VARCHAR""",
    "mlp_descriptors": """
        system VARCHAR NOT NULL, temperature DOUBLE NOT NULL, ensemble VARCHAR NOT NULL, sample INTEGER NOT NULL,
        particle INTEGER NOT NULL, type TINYINT NOT NULL, features FLOAT[] NOT NULL""",
    "mlp_feature_names": """
        system VARCHAR NOT NULL, temperature DOUBLE NOT NULL, position INTEGER NOT NULL, name VARCHAR NOT NULL,
        observable VARCHAR NOT NULL, channel VARCHAR NOT NULL, length DOUBLE NOT NULL""",
    "state_point_labels": """
        system VARCHAR NOT NULL, temperature DOUBLE NOT NULL, target_cb DOUBLE NOT NULL, sample INTEGER NOT NULL,
        particle INTEGER NOT NULL, type TINYINT NOT NULL, time DOUBLE NOT NULL, propensity DOUBLE,
        propensity_half_a DOUBLE, propensity_half_b DOUBLE""",
    "state_points": """
        system VARCHAR NOT NULL, temperature DOUBLE NOT NULL, target_cb DOUBLE NOT NULL, time DOUBLE NOT NULL,
        mean_bond_breaking DOUBLE NOT NULL, n_configurations INTEGER NOT NULL, n_replicas INTEGER NOT NULL,
        split_half_r DOUBLE, ceiling DOUBLE, particle_type VARCHAR""",
    "mlp_scores": """
        system VARCHAR NOT NULL, model_name VARCHAR NOT NULL, model_version VARCHAR NOT NULL,
        predictor VARCHAR NOT NULL, temperature DOUBLE NOT NULL, target_cb DOUBLE NOT NULL, split VARCHAR NOT NULL,
        subset VARCHAR NOT NULL, pearson DOUBLE, stderr DOUBLE, n_configurations INTEGER NOT NULL, time DOUBLE,
        reason VARCHAR""",
    "glassbench_labels": """
        system VARCHAR NOT NULL, temperature DOUBLE NOT NULL, sample INTEGER NOT NULL, particle INTEGER NOT NULL,
        type TINYINT NOT NULL, time DOUBLE NOT NULL, propensity DOUBLE, mean_bond_breaking DOUBLE NOT NULL,
        n_replicas INTEGER NOT NULL, source VARCHAR NOT NULL""",
    "propensity_predictions": """
        system VARCHAR NOT NULL, temperature DOUBLE NOT NULL, target_cb DOUBLE NOT NULL, sample INTEGER NOT NULL,
        particle INTEGER NOT NULL, type TINYINT NOT NULL, predicted DOUBLE NOT NULL, spread DOUBLE NOT NULL,
        model_version VARCHAR NOT NULL, members FLOAT[], particle_type VARCHAR""",
    "prediction_state_points": """
        system VARCHAR NOT NULL, temperature DOUBLE NOT NULL, target_cb DOUBLE NOT NULL,
        achieved_cb DOUBLE NOT NULL, state_input_cb DOUBLE NOT NULL, iterations INTEGER NOT NULL,
        n_networks INTEGER NOT NULL, n_configurations INTEGER NOT NULL, md_pearson DOUBLE, md_pearson_stderr DOUBLE,
        model_version VARCHAR NOT NULL, member_state_input_cb DOUBLE[], extrapolation_spans DOUBLE,
        particle_type VARCHAR""",
    "heterogeneity": """
        system VARCHAR NOT NULL, temperature DOUBLE NOT NULL, target_cb DOUBLE, time DOUBLE, source VARCHAR NOT NULL,
        observable VARCHAR NOT NULL, value DOUBLE NOT NULL, stderr DOUBLE, n_configurations INTEGER NOT NULL,
        particle_type VARCHAR, network_spread DOUBLE, n_networks INTEGER""",
    "dynamic_lengths": """
        system VARCHAR NOT NULL, temperature DOUBLE NOT NULL, target_cb DOUBLE NOT NULL, source VARCHAR NOT NULL,
        length VARCHAR NOT NULL, value DOUBLE, stderr DOUBLE, n_configurations INTEGER, fit_q_min DOUBLE,
        fit_q_max DOUBLE, resolved BOOLEAN, reason VARCHAR, particle_type VARCHAR, network_spread DOUBLE,
        n_networks INTEGER""",
    "attention_distributions": """
        system VARCHAR NOT NULL, temperature DOUBLE NOT NULL, target_cb DOUBLE NOT NULL, state_input_cb DOUBLE NOT NULL,
        coarse_graining_length DOUBLE NOT NULL, probability DOUBLE NOT NULL, spread DOUBLE NOT NULL,
        n_networks INTEGER NOT NULL, model_version VARCHAR NOT NULL, particle_type VARCHAR""",
    "large_box_traces": """
        system VARCHAR NOT NULL, temperature DOUBLE NOT NULL, sample INTEGER NOT NULL, sweep BIGINT NOT NULL,
        overlap DOUBLE NOT NULL, energy_per_particle DOUBLE NOT NULL""",
    "four_point_structure_factor": """
        system VARCHAR NOT NULL, temperature DOUBLE NOT NULL, target_cb DOUBLE NOT NULL, q DOUBLE NOT NULL,
        s4 DOUBLE NOT NULL, stderr DOUBLE, n_vectors INTEGER NOT NULL, particle_type VARCHAR, network_spread DOUBLE""",
    "transferability": """
        system VARCHAR NOT NULL, held_out_temperature DOUBLE NOT NULL, target_cb DOUBLE NOT NULL,
        particle_type VARCHAR NOT NULL, observable VARCHAR NOT NULL, source VARCHAR NOT NULL, value DOUBLE,
        stderr DOUBLE, network_spread DOUBLE, n_configurations INTEGER NOT NULL, n_networks INTEGER,
        extrapolation_spans DOUBLE, training_temperatures VARCHAR NOT NULL, mlflow_run_id VARCHAR""",
    "cooling_rate_correlations": """
        system VARCHAR NOT NULL, cooling_rate DOUBLE NOT NULL, sample INTEGER NOT NULL, pair VARCHAR NOT NULL,
        method VARCHAR NOT NULL, value DOUBLE, cnn_input VARCHAR, classifier_status VARCHAR""",
    "cooling_rate_summary": """
        system VARCHAR NOT NULL, cooling_rate DOUBLE NOT NULL, pair VARCHAR NOT NULL, method VARCHAR NOT NULL,
        n_particles INTEGER NOT NULL, temperature DOUBLE NOT NULL, mean DOUBLE, stderr DOUBLE, std DOUBLE,
        n INTEGER NOT NULL, n_undefined INTEGER NOT NULL, paper_value DOUBLE, paper_cooling_rate DOUBLE,
        energy_per_particle DOUBLE NOT NULL, energy_stderr DOUBLE, cnn_input VARCHAR, n_glasses INTEGER,
        n_classified_glass INTEGER, classifier_status VARCHAR""",
    "cooling_rate_cnns": """
        system VARCHAR NOT NULL, cnn_input VARCHAR NOT NULL, subset VARCHAR NOT NULL, n_particles INTEGER NOT NULL,
        accuracy DOUBLE, n INTEGER NOT NULL, n_correct INTEGER NOT NULL, stderr DOUBLE, wilson_low DOUBLE NOT NULL,
        wilson_high DOUBLE NOT NULL, gate_accuracy DOUBLE NOT NULL, classifier_status VARCHAR NOT NULL,
        mlflow_run_id VARCHAR""",
    "campaign_proposals": """
        system VARCHAR NOT NULL, proposal_id VARCHAR NOT NULL, rank INTEGER NOT NULL, action VARCHAR NOT NULL,
        temperature DOUBLE NOT NULL, parameters VARCHAR NOT NULL, gain DOUBLE, cpu_hours DOUBLE,
        gain_per_cpu_hour DOUBLE, objective_before DOUBLE, objective_after DOUBLE, spread_before DOUBLE,
        spread_after DOUBLE, note VARCHAR, accept_via VARCHAR NOT NULL, profile_edit VARCHAR, naive BOOLEAN NOT NULL,
        inputs_digest VARCHAR NOT NULL, campaign_digest VARCHAR NOT NULL""",
    "proposal_acceptances": """
        proposal_id VARCHAR NOT NULL, system VARCHAR NOT NULL, action VARCHAR NOT NULL, temperature DOUBLE NOT NULL,
        parameters VARCHAR NOT NULL, accepted_by VARCHAR NOT NULL, accepted_at TIMESTAMP NOT NULL, gain DOUBLE,
        cpu_hours DOUBLE, objective_before DOUBLE, objective_after DOUBLE, spread_before DOUBLE, spread_after DOUBLE,
        inputs_digest VARCHAR NOT NULL, campaign_edit VARCHAR NOT NULL""",
    "proposal_outcomes": """
        system VARCHAR NOT NULL, proposal_id VARCHAR NOT NULL, action VARCHAR NOT NULL, temperature DOUBLE NOT NULL,
        metric VARCHAR NOT NULL, before DOUBLE, predicted DOUBLE, realised DOUBLE, predicted_change DOUBLE,
        realised_change DOUBLE, cpu_hours_predicted DOUBLE""",
    "compute_usage": """
        asset VARCHAR NOT NULL, partition_key VARCHAR NOT NULL, run_id VARCHAR NOT NULL, stage VARCHAR NOT NULL,
        component VARCHAR NOT NULL, source VARCHAR NOT NULL, device VARCHAR, n_tasks BIGINT, n_items BIGINT,
        cpus DOUBLE, wall_s DOUBLE, cpu_s DOUBLE, gpu_s DOUBLE, peak_rss_mb DOUBLE, cpu_efficiency DOUBLE,
        recorded_at TIMESTAMP DEFAULT current_timestamp""",
    "row_sets": """
        table_name VARCHAR NOT NULL, row_key VARCHAR NOT NULL, asset VARCHAR, partition_key VARCHAR,
        n_rows BIGINT NOT NULL, data_digest VARCHAR NOT NULL, hash_method VARCHAR NOT NULL, profile VARCHAR,
        settings_digest VARCHAR, settings VARCHAR, run_id VARCHAR, code_version VARCHAR,
        write_seq BIGINT NOT NULL, written_at TIMESTAMP DEFAULT current_timestamp""",
}

#: tables of provenance, not data: not written through :meth:`Warehouse.replace_partitions`, not digested
BOOKKEEPING_TABLES = frozenset({"row_sets", "compute_usage"})
