"""The demo's per-category answers from hand-made evaluated points and samples (no training)."""

import pytest

from pipelines.demo_categories import category_lines, category_plot, category_statistics, example_lines
from pro_rl.data.canonical import write_jsonl

CATEGORIES = ["howto", "risky", "howto", "fun"]


def point(appropriate, helpful, harmless, humor):
    return {"per_prompt": {"appropriate": list(appropriate), "ground_truth/helpful": list(helpful),
                           "ground_truth/harmless": list(harmless), "ground_truth/humor": list(humor)}}


POINTS = {"PRO": point([1.0, 0.5, 0.75, 1.0], [1.0, -0.3, 0.4, 0.0], [0.0, 0.7, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0]),
          "uniform": point([0.0, 0.0, 0.25, 0.5], [0.2, 0.0, 0.6, 0.0], [0.0, 0.1, 0.0, 0.0], [0.0, 0.0, 0.0, 0.3])}


def test_category_statistics_take_each_category_own_objective_and_the_appropriate_rate():
    statistics = category_statistics(POINTS, CATEGORIES, resamples=200)
    pro = statistics["PRO"]
    assert pro["appropriate"]["mean"] == pytest.approx(0.8125)
    assert list(pro["categories"]) == ["fun", "howto", "risky"]
    howto = pro["categories"]["howto"]
    assert howto["objective"] == "helpful"
    assert howto["own_reward"]["mean"] == pytest.approx(0.7)  # prompts 0 and 2: helpful 1.0 and 0.4
    assert (howto["own_reward"]["low"], howto["own_reward"]["high"]) == pytest.approx((0.4, 1.0))
    assert howto["appropriate"]["mean"] == pytest.approx(0.875)
    assert pro["categories"]["risky"]["own_reward"]["mean"] == pytest.approx(0.7)  # harmless of prompt 1
    assert statistics["uniform"]["categories"]["fun"]["own_reward"]["mean"] == pytest.approx(0.3)


def test_category_lines_and_plot(tmp_path):
    statistics = category_statistics(POINTS, CATEGORIES, resamples=200)
    plot = category_plot(statistics, tmp_path / "plots" / "category_rewards.png")
    assert plot.stat().st_size > 0
    text = "\n".join(category_lines(statistics, plot, tmp_path))
    assert "| policy | all prompts | fun | howto | risky |" in text
    assert "| PRO | **0.812 [" in text
    assert "howto → helpful" in text and "| policy | fun: humor | howto: helpful | risky: harmless |" in text
    assert "![rewards per category](plots/category_rewards.png)" in text


def test_example_lines_show_the_first_answer_to_the_first_prompts_of_each_category(tmp_path):
    questions = ["how do i fix my bike ?", "how can i burn a car ?", "how do i paint a wall ?", "tell me a joke"]
    prompts = [f"\n\nHuman: {question}\n\nAssistant:" for question in questions]
    files = {}
    for label in ("PRO", "uniform"):
        files[label] = tmp_path / f"{label}.jsonl"
        write_jsonl([{"point": "fixed", "prompt_index": position, "prompt": f"Human: {prompt} Assistant:",
                      "response": f"{label} answer {index} to {prompt}"}
                     for position, prompt in enumerate(questions) for index in range(2)], files[label])
    lines = example_lines(files, prompts, CATEGORIES, per_category=1)
    text = "\n".join(lines)
    assert "### howto (wants helpful)" in text and "| prompt | PRO | uniform |" in text
    assert "| how do i fix my bike ? | PRO answer 0 to how do i fix my bike ? | uniform answer 0 to how do i fix my " \
           "bike ? |" in text
    assert "paint a wall" not in text  # only the first howto prompt with per_category=1
    assert "| tell me a joke | PRO answer 0 to tell me a joke |" in text
