"""Model cards: a ``README.md`` in the Hugging Face Hub's model-card format in every ``final/<name>/`` of a run.

A card is YAML front matter (``library_name: transformers``, ``tags: [pro-rl, <method>]``, ``base_model`` when the
model started from a hub id or directory, ``datasets`` when the data names hub datasets or files), then prose: what
the model is, how it was trained (pipeline, key settings, the git commit of pro-rl when it runs from a checkout),
its held-out metrics (the run's final ``eval/`` metrics) and how to load and use it.

What a directory holds is read from its name and the run's config: ``policy`` (the method from the pipeline,
``weights.mode`` and ``wic.conditioning``), an objective's name (a reward model), ``orchestrator``. Only directories
with a ``config.json`` (a saved model) get a card. Ray-free; ``pipelines.run`` calls ``write_model_cards``.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import yaml

from pro_rl.config import ProRLConfig

CARD_FILE = "README.md"


@dataclass
class ModelDescription:
    """What a saved model is, as a card tells it."""
    title: str
    method_tag: str
    what: str                      # one paragraph: what the model is
    base_model: str
    datasets: List[str]
    settings: Dict[str, object]    # key training settings
    metrics: Dict[str, float]      # held-out metrics
    usage: List[Tuple[str, str]] = field(default_factory=list)  # (what it does, code block)


def write_model_cards(output_dir: Path, config: ProRLConfig, metrics: Mapping[str, float]) -> List[Path]:
    """Write ``README.md`` into every ``final/<name>/`` of ``output_dir`` that holds a model; the cards written."""
    commit = code_commit()
    written = []
    for directory in model_directories(output_dir):
        card = render_card(describe(directory, config, metrics), config.pipeline, commit)
        (directory / CARD_FILE).write_text(card)
        written.append(directory / CARD_FILE)
    return written


def model_directories(output_dir: Path) -> List[Path]:
    """The ``final/<name>/`` directories of a run that hold a saved model (a ``config.json``), sorted by name."""
    final = Path(output_dir) / "final"
    if not final.is_dir():
        return []
    return sorted(path for path in final.iterdir() if (path / "config.json").is_file())


def describe(directory: Path, config: ProRLConfig, metrics: Mapping[str, float]) -> ModelDescription:
    """The description of the model in ``directory``, decided by its name and the run's config."""
    name = directory.name
    held_out = {key: value for key, value in metrics.items() if key.startswith("eval/")}
    if name == "orchestrator":
        return describe_orchestrator(directory, config, held_out)
    if name in config.objectives:
        spec = config.reward_models[config.objectives.index(name)]
        own = {k: v for k, v in held_out.items() if k.startswith(f"eval/{name}/")}
        training = spec.training
        return ModelDescription(
            title=f"pro-rl reward model: {name}", method_tag="reward-model",
            what=(f"A reward model for the objective **{name}**: a sequence classifier whose logit {spec.label_index} "
                  "scores a prompt and response, trained on preference pairs with the Bradley-Terry loss (PRO eq. 2)."),
            base_model=model_source(spec.model), datasets=data_sources([spec.data]),
            settings={"objective": name, "learning rate": training.learning_rate,
                      "batch size": training.batch_size, "epochs": training.epochs,
                      "max steps": training.max_steps or "no limit beyond epochs", "max length": training.max_length},
            metrics=own, usage=[transformers_usage(directory, "AutoModelForSequenceClassification",
                                                   f"score = model(**inputs).logits[0, {spec.label_index}]")])
    if name == "policy":
        return describe_policy(directory, config, held_out)
    return ModelDescription(title=f"pro-rl model: {name}", method_tag=config.pipeline.replace("_", "-"),
                            what=f"A model saved by the `{config.pipeline}` pipeline of pro-rl.", base_model="",
                            datasets=[], settings={}, metrics=held_out)


def describe_orchestrator(directory: Path, config: ProRLConfig, held_out: Dict[str, float]) -> ModelDescription:
    spec, objectives = config.orchestrator, config.objectives
    return ModelDescription(
        title="pro-rl Preference Orchestrator", method_tag="preference-orchestrator",
        what=(f"The Preference Orchestrator of PRO: given a prompt it recommends weights over the objectives "
              f"{', '.join(objectives)} (softmax of its {len(objectives)} logits, in that order). It was trained "
              + (f"(eqs. 6-8) towards w* = softmax(r⁺/τ) of the reward models' scores of preferred responses, "
                 f"with τ = {spec.tau}." if spec.objective == "pro_kl" else
                 f"as an ArmoRM-style gate: the Bradley–Terry loss of the w-mixed reward-model margin of each pair, "
                 f"with β = {spec.bt_beta}.")),
        base_model=model_source(spec.model), datasets=data_sources([config.data.general_pairs]),
        settings={"objectives": ", ".join(objectives), "τ (tau)": spec.tau, "KL direction": spec.kl_direction,
                  "normalised rewards": spec.normalise_rewards, "learning rate": spec.training.learning_rate,
                  "batch size": spec.training.batch_size, "epochs": spec.training.epochs,
                  "max steps": spec.training.max_steps or "no limit beyond epochs"},
        metrics=held_out,
        usage=[("Recommend weights for a prompt", f'pro-rl weights --orchestrator {directory} "tell me a joke"'),
               transformers_usage(directory, "AutoModelForSequenceClassification",
                                  "weights = model(**inputs).logits.softmax(-1)  # one column per objective")])


def policy_method(config: ProRLConfig) -> Tuple[str, str, str]:
    """(method name, tag, how its weights were chosen) of the policy a run trains."""
    objectives = config.objectives
    if config.pipeline == "sft":
        return "SFT", "sft", "supervised warm-up, no weights"
    if config.pipeline == "pro_wic":
        if config.wic.conditioning == "ric":
            return "RiC", "ric", "reward-score tags mapped from the user's weights"
        return "PRO-WIC", "pro-wic", "weight tags; without weights, the orchestrator's recommendation"
    if config.pipeline == "moslim":
        return "MOSLIM", "moslim", "intensity tags in the prompt, one multi-head reward model (eq. 11)"
    mode = config.weights.mode
    if mode == "orchestrator":
        return "PRO-MORLHF", "pro-morlhf", "per-prompt weights from the Preference Orchestrator (eq. 9)"
    if mode == "bag_of_words":
        return "PRO-MORLHF", "pro-morlhf", "per-prompt weights from the bag-of-words baseline beside the orchestrator"
    if mode == "oracle":
        return "MORLHF", "morlhf", f"the true per-prompt weights w*(x) of {config.weights.function}"
    fixed = list(config.weights.fixed)
    if mode == "fixed" and sorted(fixed) == [0.0] * (len(fixed) - 1) + [1.0] and len(fixed) == len(objectives):
        objective = objectives[fixed.index(1.0)]
        return (f"a Rewarded Soups expert for {objective}", "rewarded-soups",
                f"one-hot weights on {objective}")
    if mode == "fixed":
        return "MORLHF", "morlhf", f"fixed weights {fixed} (eq. 5)"
    return "MORLHF", "morlhf", "uniform weights (eq. 5)"


def describe_policy(directory: Path, config: ProRLConfig, held_out: Dict[str, float]) -> ModelDescription:
    method, tag, weighting = policy_method(config)
    objectives = config.objectives
    settings: Dict[str, object] = {"method": method, "objectives": ", ".join(objectives) or "none"}
    datasets = [config.data.sft]
    generate = f'pro-rl generate --policy {directory} "tell me a joke"'
    if config.pipeline == "sft":
        settings.update({"steps": config.policy.sft_steps, "learning rate": config.policy.sft_learning_rate})
    elif config.pipeline == "pro_wic":
        wic = config.wic
        settings.update({"conditioning": wic.conditioning, "offline steps": wic.offline_steps,
                         "online iterations": wic.online_iterations, "online steps": wic.online_steps,
                         "quantile": wic.quantile, "τ (tau) of the row labels": wic.tau,
                         "learning rate": config.policy.sft_learning_rate})
        datasets = [wic.offline_data or config.data.sft, config.data.prompts]
        weights = ",".join(f"{1 / max(len(objectives), 1):.2f}" for _ in objectives)
        generate = f'pro-rl generate --policy {directory} --weights {weights} "tell me a joke"'
    else:
        algorithm = config.algorithm
        settings.update({"algorithm": algorithm.name, "steps": algorithm.steps, "learning rate":
                         config.policy.learning_rate, "weights mode": config.weights.mode, "KL coefficient β":
                         algorithm.kl_coef, "samples per prompt": config.rollout.num_samples})
        if config.weights.mode == "orchestrator":
            settings["orchestrator"] = config.orchestrator.path
        datasets = [config.data.prompts]
    what = (f"A policy (causal language model) trained with **{method}** on the objectives "
            f"{', '.join(objectives) or 'none'}: {weighting}.")
    return ModelDescription(
        title=f"pro-rl policy: {method}", method_tag=tag, what=what, base_model=model_source(config.policy.model),
        datasets=data_sources(datasets), settings=settings, metrics=held_out,
        usage=[("Answer prompts", generate), transformers_usage(directory, "AutoModelForCausalLM",
                                                                "output = model.generate(**inputs, max_new_tokens=64)")])


def transformers_usage(directory: Path, auto_class: str, call: str) -> Tuple[str, str]:
    return ("Load with transformers", "\n".join([
        f"from transformers import AutoTokenizer, {auto_class}",
        f'model = {auto_class}.from_pretrained("{directory}")',
        f'tokenizer = AutoTokenizer.from_pretrained("{directory}")',
        'inputs = tokenizer("tell me a joke", return_tensors="pt")', call]))


def model_source(model: str) -> str:
    """A model's hub id or directory for ``base_model``; empty for models built in code (``tiny:...``) or functions."""
    return "" if not model or ":" in model else model


def data_sources(sources: Sequence[str]) -> List[str]:
    """The hub datasets or files a model was trained on, in order, without empty entries or repeats."""
    return list(dict.fromkeys(source for source in sources if source))


def code_commit() -> Optional[str]:
    """The git commit of the pro-rl code, or None when it is not a git checkout (quietly)."""
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent,
                              capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    if done.returncode != 0:
        return None
    return done.stdout.strip() or None


def format_value(value: object) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def render_card(description: ModelDescription, pipeline: str, commit: Optional[str]) -> str:
    """The card text: YAML front matter, then what the model is, how it was trained, metrics, usage."""
    front: Dict[str, object] = {"library_name": "transformers", "tags": ["pro-rl", description.method_tag]}
    if description.base_model:
        front["base_model"] = description.base_model
    if description.datasets:
        front["datasets"] = description.datasets
    lines = ["---", yaml.safe_dump(front, sort_keys=False, allow_unicode=True).rstrip(), "---", "",
             f"# {description.title}", "", description.what, "", "## Training", "",
             f"- pipeline: `{pipeline}`"]
    lines += [f"- {key}: {value}" for key, value in description.settings.items()]
    if description.base_model:
        lines.append(f"- base model: `{description.base_model}`")
    if commit:
        lines.append(f"- pro-rl commit: `{commit}`")
    lines += ["", "## Held-out metrics", ""]
    if description.metrics:
        lines += ["| metric | value |", "|---|---|"]
        lines += [f"| {key} | {format_value(value)} |" for key, value in sorted(description.metrics.items())]
    else:
        lines.append("None recorded (no held-out data in this run).")
    lines += ["", "## Usage", ""]
    for title, code in description.usage:
        language = "python" if code.startswith("from ") else "bash"
        lines += [f"{title}:", "", f"```{language}", code, "```", ""]
    return "\n".join(lines).rstrip() + "\n"
