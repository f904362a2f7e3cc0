"""Study profiles load into typed sections, and a bad key is named in the error."""

from pathlib import Path

import numpy as np
import pytest
import yaml

from glass_assets.profiles import PROFILES_FILE, ProfileError, load_profile
from glass_core.learning.classifier_gate import GateError
from glass_core.learning.cnn import deterministic_split
from glass_core.models.systems import get_system
from tests.helpers.paths import TINY_PROFILES


@pytest.mark.parametrize("path", [PROFILES_FILE, TINY_PROFILES])
def test_every_shipped_profile_loads(path):
    for name in yaml.safe_load(Path(path).read_text()):
        profile = load_profile(name, Path(path))
        assert profile.quench.n_samples > 0 and profile.coarse_graining_length == 3.0


def test_sections_are_typed():
    profile = load_profile("demo")
    assert profile.propensity.max_time_for("ka2d_ternary") == 400.0 and profile.propensity.per_decade == 6
    window = profile.propensity.max_time_for
    assert window("kam", 0.37) == 100.0 and window("abm", 1.5) == 100.0
    assert profile.swap_mc.n_chains == 2 and isinstance(profile.swap_mc.swap_probability, float)
    assert profile.cnn.split_fractions == (0.3, 0.5, 0.2) and isinstance(profile.cnn.conv_channels, tuple)
    assert profile.cnn.gate_accuracy == 0.95 and profile.cnn.min_validation_per_class == 20
    assert profile.inherent_structures.force_tolerance == 1e-8
    tiny = load_profile("tiny_cnn", TINY_PROFILES)
    assert tiny.propensity.max_time_for("abm") == 3.0
    with pytest.raises(ProfileError, match="'swap_mc'"):
        _ = tiny.swap_mc


def bad_profile(tmp_path, **changes):
    raw = yaml.safe_load(TINY_PROFILES.read_text())["tiny"]
    for section, value in changes.items():
        raw[section] = value
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump({"bad": raw}))
    return path


def test_a_bad_key_is_named(tmp_path):
    raw = yaml.safe_load(TINY_PROFILES.read_text())["tiny"]
    typo = {**raw["swap_mc"], "n_chain": 2}
    del typo["n_chains"]
    with pytest.raises(ProfileError, match=r"unknown key\(s\) \['n_chain'\] in 'swap_mc'"):
        load_profile("bad", bad_profile(tmp_path, swap_mc=typo))
    with pytest.raises(ProfileError, match=r"propensity.n_replicas = 'many'"):
        load_profile("bad", bad_profile(tmp_path, propensity={**raw["propensity"], "n_replicas": "many"}))
    with pytest.raises(ProfileError, match=r"'propensity' needs key\(s\) \['n_samples'\]"):
        load_profile("bad", bad_profile(tmp_path, propensity={"n_replicas": 2, "max_time": 3.0}))
    with pytest.raises(ProfileError, match="unknown section"):
        load_profile("bad", bad_profile(tmp_path, swapmc={}))
    with pytest.raises(ProfileError, match="no entry for system 'kam'"):
        path = bad_profile(tmp_path, propensity={**raw["propensity"], "max_time": {"abm": 1.0}})
        load_profile("bad", path).propensity.max_time_for("kam")


def test_cnn_input_and_head_are_profile_choices():
    paper = load_profile("paper").cnn
    assert (paper.input_kind, paper.head) == ("density", "fc")  # [O]: species-blind input, dense head, no pooling
    demo = load_profile("demo").cnn
    assert demo.input_kind in ("density", "per_type") and demo.head in ("fc", "gap")
    assert "input_kind" in load_profile("demo").raw["cnn"] and "head" in load_profile("demo").raw["cnn"]


def test_a_bad_cnn_choice_is_named(tmp_path):
    cnn = yaml.safe_load(TINY_PROFILES.read_text())["tiny"]["cnn"]
    with pytest.raises(ProfileError, match=r"profile 'bad': cnn.input_kind must be one of .*'species_blind'"):
        load_profile("bad", bad_profile(tmp_path, cnn={**cnn, "input_kind": "species_blind"}))
    with pytest.raises(ProfileError, match=r"cnn.head must be one of \['fc', 'gap'\], got 'pool'"):
        load_profile("bad", bad_profile(tmp_path, cnn={**cnn, "head": "pool"}))
    with pytest.raises(ProfileError, match="leaves no validation subset"):
        load_profile("bad", bad_profile(tmp_path, cnn={**cnn, "split_fractions": [0.7, 0.0, 0.3]}))
    chosen = load_profile("bad", bad_profile(tmp_path, cnn={**cnn, "input_kind": "per_type", "head": "gap"})).cnn
    assert (chosen.input_kind, chosen.head) == ("per_type", "gap")


def test_a_propensity_window_per_run_temperature(tmp_path):
    """A system's max_time may be {temperature: time, default: time}; an unlisted T without default raises."""
    raw = yaml.safe_load(TINY_PROFILES.read_text())["tiny"]
    windows = {"abm": 2.0, "kam": {0.37: 30.0, "default": 10.0}, "ka2d_ternary": {0.5: 40.0}}
    settings = load_profile("bad", bad_profile(tmp_path, propensity={**raw["propensity"], "max_time": windows}))
    window = settings.propensity.max_time_for
    assert window("abm", 1.0) == 2.0 and window("abm") == 2.0
    assert window("kam", 0.37) == 30.0 and window("kam", float("0.37")) == 30.0
    assert window("kam", 0.55) == 10.0 and window("kam") == 10.0
    assert window("ka2d_ternary", 0.5) == 40.0
    with pytest.raises(ProfileError, match=r"'ka2d_ternary' has no entry for T = 0.6 and no 'default'"):
        window("ka2d_ternary", 0.6)
    with pytest.raises(ProfileError, match=r"propensity.max_time = .* is not a valid"):
        load_profile("bad", bad_profile(tmp_path, propensity={**raw["propensity"], "max_time": {"kam": {"hot": 1.0}}}))


def test_the_cooling_rate_study_section_is_validated(tmp_path):
    good = {"n_particles": 64, "rates": [2.0, 1.0], "glasses_per_rate": [2, 2]}
    study = load_profile("bad", bad_profile(tmp_path, cooling_rate_study=good)).cooling_rate_study
    assert study.plan() == [(2.0, 2), (1.0, 2)] and isinstance(study.rates, tuple)
    cases = {
        "one glasses_per_rate entry per rate": {**good, "glasses_per_rate": [2]},
        "distinct and positive": {**good, "rates": [2.0, -1.0]},
        r"glasses_per_rate must be ≥ 1": {**good, "glasses_per_rate": [2, 0]},
        r"unknown key\(s\) \['rate'\]": {**good, "rate": 1.0},
        r"needs key\(s\) \['glasses_per_rate'\]": {"n_particles": 64, "rates": [1.0]},
        r"cooling_rate_study.rates = 'fast'": {**good, "rates": "fast"},
    }
    for message, section in cases.items():
        with pytest.raises(ProfileError, match=message):
            load_profile("bad", bad_profile(tmp_path, cooling_rate_study=section))
    with pytest.raises(ProfileError, match="has no 'cooling_rate_study' section"):
        _ = load_profile("demo").cooling_rate_study


def test_validation_and_paper_profiles_hold_the_cooling_rates():
    validation = load_profile("validation")
    study = dict(validation.cooling_rate_study.plan())
    assert validation.cooling_rate_study.n_particles == 2000
    assert study[2e-2] >= 20 and study[2e-3] >= 10 and study[2e-4] >= 2
    # the study CNNs train at the study's box ([O]'s N = 2000), on the quench stage of the same profile, with the
    # demo's pixel (0.23 σ): the grid grows with the box
    assert validation.quench.particles_for("abm") == validation.cooling_rate_study.n_particles
    demo = load_profile("demo").cnn
    side = {n: (n / get_system("abm").density) ** 0.5 for n in (256, 2000)}
    assert validation.cnn.grid / side[2000] == pytest.approx(demo.grid / side[256], rel=0.01)
    assert validation.cnn.kernel_width == demo.kernel_width and validation.cnn.input_kind == demo.input_kind
    paper = load_profile("paper").cooling_rate_study
    assert 8.33e-5 in paper.rates and paper.n_particles == 2000


def _with_learning(tmp_path: Path, **changes: object) -> Path:
    raw = yaml.safe_load(TINY_PROFILES.read_text())["tiny"]
    raw["propensity_learning"].update(changes)
    path = tmp_path / "p.yaml"
    path.write_text(yaml.safe_dump({"p": raw}))
    return path


def test_the_particle_types_of_the_propensity_study_are_named_and_checked(tmp_path):
    learning = load_profile("demo").propensity_learning
    assert learning.type_indices("ka2d_ternary") == (0,) and learning.type_label("ka2d_ternary") == "A"  # [J]
    every = load_profile("p", _with_learning(tmp_path, particle_types=["all"])).propensity_learning
    assert every.type_indices("ka2d_ternary") == (0, 1, 2) and every.type_label("ka2d_ternary") == "all"
    pair = load_profile("p", _with_learning(tmp_path, particle_types=["C", "A"])).propensity_learning
    assert pair.type_indices("ka2d_ternary") == (0, 2) and pair.type_label("ka2d_ternary") == "A+C"
    lacking = load_profile("p", _with_learning(tmp_path, particle_types=["D"])).propensity_learning
    with pytest.raises(ProfileError, match=r"ka2d_ternary has no species \['D'\]"):
        lacking.type_indices("ka2d_ternary")
    with pytest.raises(ProfileError, match="particle_types must list distinct species names"):
        load_profile("p", _with_learning(tmp_path, particle_types=["all", "A"]))


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [("distillation", "everywhere", "distillation must be one of"), ("held_out", "highest", "held_out must be one of"),
     ("held_out", [0.5, -1], "held_out must be one of"), ("max_extrapolation_spans", 0.0, "must be positive")],
)
def test_bad_propensity_learning_choices_are_named(tmp_path, key, value, message):
    with pytest.raises(ProfileError, match=message):
        load_profile("p", _with_learning(tmp_path, **{key: value}))


def test_held_out_temperatures_follow_the_profile_and_refuse_unlabelled_ones(tmp_path):
    labelled = [0.7, 0.5, 0.6]
    assert load_profile("demo").propensity_learning.held_out_temperatures(labelled) == [0.5]
    assert load_profile("ternary_validation").propensity_learning.held_out_temperatures(labelled) == [0.5, 0.6]
    assert load_profile("demo").propensity_learning.held_out_temperatures([0.7]) == []  # nothing to train on
    listed = load_profile("p", _with_learning(tmp_path, held_out=[0.6, 0.45])).propensity_learning
    with pytest.raises(ProfileError, match=r"held_out lists T = \[0.45\], which have no MD labels"):
        listed.held_out_temperatures(labelled)


def test_the_number_of_propensity_configurations_may_depend_on_the_temperature():
    propensity = load_profile("ternary_validation").propensity
    assert propensity.samples_for("ka2d_ternary", 0.45) == 8 and propensity.samples_for("ka2d_ternary", 0.6) == 16
    assert propensity.samples_for("abm", 1.0) == 8
    demo = load_profile("demo").propensity  # per system: 6 glasses for [O]'s systems, 8 equilibria for [J]'s
    assert demo.samples_for("kam", 0.37) == 6 and demo.samples_for("ka2d_ternary", 0.5) == 8


def test_the_classifier_gate_settings_are_validated_and_named(tmp_path):
    cnn = yaml.safe_load(TINY_PROFILES.read_text())["tiny"]["cnn"]
    for threshold in (0.5, 0.3, 1.2):
        with pytest.raises(ProfileError, match=rf"cnn.gate_accuracy = {threshold} is outside \(0.5, 1\]"):
            load_profile("bad", bad_profile(tmp_path, cnn={**cnn, "gate_accuracy": threshold}))
    with pytest.raises(ProfileError, match="cnn.min_validation_per_class = 0 must be at least 1"):
        load_profile("bad", bad_profile(tmp_path, cnn={**cnn, "min_validation_per_class": 0}))
    with pytest.raises(ProfileError, match="cnn.validate_every must be at least 1"):
        load_profile("bad", bad_profile(tmp_path, cnn={**cnn, "validate_every": 0}))
    gate = load_profile("bad", bad_profile(tmp_path, cnn={**cnn, "gate_accuracy": 0.9})).cnn.gate
    assert gate.threshold == 0.9 and gate.minimum_validation_size == 36
    # 1 is inside (0.5, 1] but no finite validation split resolves it: the split check names it
    perfect = load_profile("bad", bad_profile(tmp_path, cnn={**cnn, "gate_accuracy": 1.0})).cnn.gate
    with pytest.raises(GateError, match="cnn.gate_accuracy = 1 cannot be resolved by any finite validation split"):
        perfect.check_split(1000, 1000)


def test_an_unknown_cnn_input_of_the_study_is_named(tmp_path):
    good = {"n_particles": 64, "rates": [2.0], "glasses_per_rate": [2]}
    with pytest.raises(ProfileError, match=r"cooling_rate_study.cnn_inputs must be distinct entries of .*'pixels'"):
        load_profile("bad", bad_profile(tmp_path, cooling_rate_study={**good, "cnn_inputs": ["density", "pixels"]}))


@pytest.mark.parametrize("name", ["demo", "validation", "paper"])
def test_each_shipped_profile_can_choose_a_champion_and_pass_its_gate(name):
    """The profile's quench runs, split by its fractions (each run gives a liquid and a glass image), leave a
    validation split that satisfies the classifier gate: ≥ min_validation_per_class per class and enough images for
    a perfect score to be resolved above gate_accuracy."""
    profile = load_profile(name)
    split = deterministic_split(np.arange(profile.quench.n_samples), profile.cnn.split_fractions, profile.cnn.seed)
    per_class = len(split.validation)
    profile.cnn.gate.check_split(per_class, per_class)  # raises if too small
    assert 2 * per_class >= profile.cnn.gate.minimum_validation_size
