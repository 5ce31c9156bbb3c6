"""Problem banks: the bundled banks parse, bank errors are one clear line, selections and draws mean what they say."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

from nnexam.bank import bank_hash, bundled_banks, find_bank, load_bank, parse_bank
from nnexam.cli import cli
from nnexam.errors import NnexamError
from nnexam.graph import TASKS

BUNDLED = ["bce-2-2-1", "classic", "classic-bits", "relu-3-2-1", "softmax-2-3-2"]

MINIMAL = textwrap.dedent("""\
    title = "Tiny"
    layers = [2, 2, 1]
    activations = ["sigmoid", "sigmoid"]
    loss = "half_sse"
    bias = "shared"
    update_biases = false

    [draws]
    inputs = { min = 0.1, max = 0.9, step = 0.1 }
    targets = { choices = [0, 1] }
    learning_rate = { choices = [0.5] }
    weights = { min = -1, max = 1, step = 0.05, exclude = [0] }
    biases = { min = 0.1, max = 0.5, step = 0.1 }

    [[tasks]]
    task = "forward"
    kinds = ["a"]
    points = 2

    [[tasks]]
    task = "hidden_gradients"
    decimals = 5
    tolerance = { kind = "rel", value = 0.01 }
    """)


def write(tmp_path: Path, text: str, name: str = "bank.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_bundled_banks_are_the_five_the_issue_names():
    assert [name for name, _ in bundled_banks()] == BUNDLED
    archs = {name: load_bank(name).arch for name in BUNDLED}
    assert archs["classic"].layers == (2, 2, 2) and archs["classic"].bias == "shared"
    assert load_bank("classic").notation == "mazur" and load_bank("classic-bits").notation == "bits"
    relu = load_bank("relu-3-2-1")
    assert relu.arch.activations == ("relu", "sigmoid") and relu.arch.update_biases and relu.notation == "matrix"
    assert relu.allow_inactive_zero
    assert archs["softmax-2-3-2"].activations == ("tanh", "softmax") and archs["softmax-2-3-2"].loss == "cross_entropy"
    assert archs["bce-2-2-1"].loss == "bce"


def test_classic_bank_asks_a_two_page_set():
    bank = load_bank(None)  # no name: the classic bank
    assert bank.name == "classic"
    asked = [s for t in bank.tasks for s in t.steps]
    assert 20 <= len(asked) <= 30
    assert {t.task for t in bank.tasks} >= {"forward", "loss", "output_gradients", "hidden_gradients", "updated_weights", "loss_after"}


def test_parse_minimal_bank(tmp_path):
    bank = load_bank(str(write(tmp_path, MINIMAL)))
    assert bank.name == "bank" and bank.title == "Tiny" and bank.decimals == 4
    forward, hidden = bank.tasks
    assert forward.steps == ("a1_1", "a1_2", "a2_1") and forward.points == 2.0
    assert hidden.steps == ("dE_dw1_1_1", "dE_dw1_1_2", "dE_dw1_2_1", "dE_dw1_2_2")
    assert (hidden.decimals, hidden.tolerance_kind, hidden.tolerance_value) == (5, "rel", 0.01)
    assert (forward.tolerance_kind, forward.decimals) == ("decimals", 4)
    weights = bank.draws["weights"][0].values
    assert len(weights) == 40 and 0.0 not in weights and weights[0] == -1.0 and weights[-1] == 1.0
    assert 0.15 in weights and 0.3 in weights  # exact decimals, not 0.15000000000000002
    assert bank.draws["inputs"][0].values == (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def test_hash_ignores_comments_and_layout_but_not_content(tmp_path):
    a = load_bank(str(write(tmp_path, MINIMAL, "a.toml")))
    b = load_bank(str(write(tmp_path, "# a comment\n" + MINIMAL.replace(" = ", "   =   "), "b.toml")))
    c = load_bank(str(write(tmp_path, MINIMAL.replace("step = 0.05", "step = 0.1"), "c.toml")))
    assert a.hash == b.hash != c.hash
    assert a.hash == bank_hash(a.data) and a.hash.startswith("sha256:")


def test_per_layer_draws_and_one_hot(tmp_path):
    text = MINIMAL.replace(
        "weights = { min = -1, max = 1, step = 0.05, exclude = [0] }",
        "weights = [{ choices = [0.5, 0.6] }, { min = 1, max = 2, step = 0.5 }]",
    )
    bank = load_bank(str(write(tmp_path, text)))
    assert [d.values for d in bank.draws["weights"]] == [(0.5, 0.6), (1.0, 1.5, 2.0)]
    soft = load_bank("softmax-2-3-2")
    assert soft.draws["targets"][0].vectors == ((1.0, 0.0), (0.0, 1.0))


def test_steps_filter_and_layers_filter(tmp_path):
    text = MINIMAL + textwrap.dedent("""
        [[tasks]]
        task = "updated_weights"
        layers = [2]

        [[tasks]]
        task = "loss"
        steps = ["E"]
        """)
    bank = load_bank(str(write(tmp_path, text)))
    assert bank.tasks[2].steps == ("w2_1_1_new", "w2_1_2_new") and bank.tasks[3].steps == ("E",)


def test_find_bank_by_name_or_path(tmp_path):
    assert find_bank("classic").name == "classic.toml"
    assert find_bank(str(tmp_path / "x.toml")) == tmp_path / "x.toml"
    with pytest.raises(NnexamError, match="not a bundled bank .*classic"):
        find_bank("no-such-bank")


BROKEN = [
    ('title = "Tiny"', "", "missing key 'title'"),
    ("[draws]", "colour = 1\n[draws]", "unknown key 'colour'"),
    ('loss = "half_sse"', 'loss = "hinge"', "key 'loss': expected one of"),
    ("step = 0.05, exclude", "step = 0.3, exclude", "key 'draws.weights': expected max - min a whole multiple of step"),
    ("step = 0.05, exclude", "step = -0.05, exclude", "key 'draws.weights.step': expected a positive number"),
    ("targets = { choices = [0, 1] }", "targets = { choices = [] }", "key 'draws.targets.choices': expected a non-empty list"),
    ("targets = { choices = [0, 1] }", "targets = { choices = [0, \"1\"] }", "key 'draws.targets.choices[1]': expected a finite number"),
    ("targets = { choices = [0, 1] }", "targets = { one_hot = true, choices = [1] }", "key 'draws.targets': expected one of"),
    ("learning_rate = { choices = [0.5] }", "learning_rate = { choices = [0] }", "key 'draws.learning_rate': expected only positive"),
    ("learning_rate = { choices = [0.5] }", "", "missing key 'draws.learning_rate'"),
    ("biases = { min = 0.1, max = 0.5, step = 0.1 }", "biases = { low = 0.1 }", "unknown key 'draws.biases.low'"),
    ("weights = { min = -1, max = 1, step = 0.05, exclude = [0] }", "weights = [{ choices = [1] }]", "key 'draws.weights': expected one draw for all layers, or a list of 2"),
    ('task = "forward"', 'task = "backward"', "key 'tasks[0].task': expected one of forward"),
    ('kinds = ["a"]', 'kinds = ["out"]', "key 'tasks[0].kinds': expected a list of step kinds"),
    ('kinds = ["a"]', 'steps = ["dE_dw1_1_1"]', "key 'tasks[0].steps[0]': expected a step of task 'forward'"),
    ('kinds = ["a"]', 'layers = [7]', "key 'tasks[0]': expected a selection that asks at least one step"),
    ('task = "hidden_gradients"', 'task = "forward"', "key 'tasks[1]': expected each step asked once ('a1_1' is already asked by tasks[0])"),
    ("decimals = 5", "decimals = 11", "key 'tasks[1].decimals': expected a whole number from 0 to 10"),
    ('kind = "rel"', 'kind = "percent"', "key 'tasks[1].tolerance.kind': expected one of abs, rel, decimals"),
    ("points = 2", "points = -1", "key 'tasks[0].points': expected a number >= 0"),
    ("[[tasks]]\ntask = \"forward\"", "[[tasks]]\ntask = \"updated_biases\"", "task 'updated_biases' selects none"),
    ("targets = { choices = [0, 1] }", "targets = { choices = [0, 2] }", "expected a target in [0, 1]"),
    ("[draws]", "[draws]\n", None),  # control: still valid
]


@pytest.mark.parametrize("old, new, message", BROKEN)
def test_bank_errors_name_file_and_key(tmp_path, old, new, message):
    text = MINIMAL.replace(old, new, 1)
    if "expected a target in [0, 1]" in (message or ""):
        text = text.replace('loss = "half_sse"', 'loss = "bce"')
    assert text != MINIMAL or message is None
    path = write(tmp_path, text)
    if message is None:
        load_bank(str(path))
        return
    with pytest.raises(NnexamError) as info:
        load_bank(str(path))
    assert str(path) in info.value.message and message in info.value.message
    assert "\n" not in info.value.message


def test_softmax_cross_entropy_needs_whole_target_vectors(tmp_path):
    text = textwrap.dedent("""\
        title = "Soft"
        layers = [2, 2]
        activations = ["softmax"]
        loss = "cross_entropy"
        [draws]
        inputs = { choices = [0.5] }
        targets = { choices = [0, 1] }
        learning_rate = { choices = [0.5] }
        weights = { choices = [0.5] }
        biases = { choices = [0.5] }
        [[tasks]]
        task = "forward"
        """)
    with pytest.raises(NnexamError, match=r"key 'draws.targets': expected vectors = \[\[...\]\] or one_hot = true"):
        parse_bank(__import__("tomllib").loads(text), "soft.toml", "soft")
    good = text.replace("targets = { choices = [0, 1] }", "targets = { vectors = [[0.2, 0.8], [1, 0]] }")
    assert parse_bank(__import__("tomllib").loads(good), "soft.toml", "soft").draws["targets"][0].vectors[0] == (0.2, 0.8)
    bad = text.replace("targets = { choices = [0, 1] }", "targets = { vectors = [[0.2, 0.7]] }")
    with pytest.raises(NnexamError, match="summing to 1"):
        parse_bank(__import__("tomllib").loads(bad), "soft.toml", "soft")


def test_toml_dates_are_kept_as_text(tmp_path):
    bank = load_bank(str(write(tmp_path, "date = 2026-05-12\ncourse = \"CS 101\"\n" + MINIMAL)))
    assert bank.date == "2026-05-12" and bank.data["date"] == "2026-05-12" and bank.course == "CS 101"


@pytest.mark.parametrize("text, fragment", [
    ("title = \n", "not valid TOML"),
    ("", "the bank file is empty"),
    (MINIMAL.replace("step = 0.05, exclude", "step = 0.3, exclude"), "key 'draws.weights'"),
])
def test_cli_bank_error_is_one_line_exit_2(tmp_path, text, fragment):
    path = write(tmp_path, text)
    result = CliRunner().invoke(cli, ["generate", str(path), "--seed", "1", "--students", "3", "--no-pdf", "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("nnexam: error: " + str(path)) and fragment in lines[0]
    assert not (tmp_path / "o").exists()


def test_cli_unknown_bank_name(tmp_path):
    result = CliRunner().invoke(cli, ["generate", "nope", "--seed", "1", "--students", "3", "--no-pdf"])
    assert result.exit_code == 2 and re.search(r"nope: no such bank file, and not a bundled bank", result.output)


def test_cli_banks_lists_names_and_titles():
    result = CliRunner().invoke(cli, ["banks"])
    assert result.exit_code == 0
    for name in BUNDLED:
        assert re.search(rf"^{re.escape(name)}\s+\S", result.output, re.M)
        assert load_bank(name).title in result.output
    assert "(default)" in result.output


def test_every_task_name_is_a_graph_task():
    for name in BUNDLED:
        assert all(t.task in TASKS for t in load_bank(name).tasks)


def test_reference_bank_example_is_a_valid_bank(tmp_path):
    readme = (Path(__file__).parent.parent / "docs" / "reference.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Problem banks"):readme.index("<!-- BANKS -->")]
    example = re.search(r"```toml\n(.*?)```", section, re.S).group(1)
    bank = load_bank(str(write(tmp_path, example, "readme.toml")))
    classic = load_bank("classic")
    assert bank.arch == classic.arch and bank.draws == classic.draws
    assert [t.steps for t in bank.tasks] == [t.steps for t in classic.tasks]
    assert bank.course == "CS 4780" and bank.tasks[5].tolerance_kind == "abs"
