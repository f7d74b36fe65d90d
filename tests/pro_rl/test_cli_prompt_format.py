"""``--prompt-format`` of ``pro-rl weights`` and ``pro-rl generate`` (``--user-turn`` is ``--prompt-format hh``)."""

import json

import pytest

from pro_rl import cli

OBJECTIVES = ["helpful", "harmless", "humor"]


@pytest.fixture(scope="module")
def orchestrator_dir(tmp_path_factory):
    from pro_rl.config.schema import OrchestratorConfig
    from pro_rl.models.builders import build_orchestrator

    model, tokenizer = build_orchestrator(OrchestratorConfig(model="tiny:xlm-roberta", tiny_hidden_size=32), OBJECTIVES)
    directory = tmp_path_factory.mktemp("orchestrator")
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


@pytest.mark.parametrize("argv, expected", [
    ([], "auto"), (["--user-turn"], "hh"), (["--prompt-format", "plain"], "plain"),
    (["--prompt-format", "chat"], "chat")])
def test_prompt_format_option_and_its_user_turn_alias(argv, expected):
    for command in (["weights", "--orchestrator", "x"], ["generate", "--policy", "x"]):
        assert cli._parser().parse_args([*command, *argv, "hi"]).prompt_format == expected


def test_weights_with_hh_format_reads_the_prompt_as_a_human_turn(orchestrator_dir, capsys):
    assert cli.main(["weights", "--orchestrator", str(orchestrator_dir), "--device", "cpu", "--user-turn", "hi"]) == 0
    wrapped = json.loads(capsys.readouterr().out)
    assert cli.main(["weights", "--orchestrator", str(orchestrator_dir), "--device", "cpu",
                     "\n\nHuman: hi\n\nAssistant:"]) == 0
    as_given = json.loads(capsys.readouterr().out)
    assert wrapped["prompt"] == "hi" and wrapped["weights"] == pytest.approx(as_given["weights"])
    assert cli.main(["weights", "--orchestrator", str(orchestrator_dir), "--device", "cpu", "hi"]) == 0
    assert json.loads(capsys.readouterr().out)["weights"] != pytest.approx(as_given["weights"], abs=1e-9)


def test_chat_format_without_a_template_is_one_error_line(orchestrator_dir, capsys):
    assert cli.main(["weights", "--orchestrator", str(orchestrator_dir), "--device", "cpu", "--prompt-format", "chat",
                     "hi"]) == 2
    assert "has no chat template" in capsys.readouterr().err
