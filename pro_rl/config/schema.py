"""Typed configuration: one dataclass per section, defaults equal to the PRO paper's values.

Every field carries one line of help in ``metadata["help"]`` (shown by ``pro-rl config``); every numeric field also
carries its allowed ``Range`` in ``metadata["range"]``, which its help text states and ``validate`` enforces (NaN and
±inf are never in a range). ``Range``, the named ranges and the field declarators live in ``fields.py``.
Values that only suit tiny CPU models (learning rates near 1e-3, a handful of steps) live in
``configs/tiny/*.yaml``, never here.

Paper values: orchestrator xlm-roberta-base, AdamW, lr 1e-5, batch 32, τ = 0.1 (PRO appendix A.2);
PRO-MORLHF on UltraFeedback: T 0.8, top-p 0.95, 8 generations, lr 5e-7, batch 128, β 0.1 (Table 6);
RiC's MORLHF: adaptive KL with init 0.2 and target 3.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Dict, List

from pro_rl.config.fields import (  # noqa: F401  (Range re-exported: `from pro_rl.config.schema import Range`)
    AT_LEAST_ONE,
    FRACTION,
    NON_NEGATIVE,
    POSITIVE,
    PROBABILITY,
    SEED,
    UNIT,
    ZERO_STAGE,
    Range,
    _field,
    _section,
)
from pro_rl.config.method_schema import MoslimConfig, SgaConfig
from pro_rl.config.mora_schema import MoraConfig
from pro_rl.config.sections import ModelConfig, TrainingConfig

PIPELINES = ("reward_models", "orchestrator", "sft", "pro_morlhf", "demo", "pro_wic", "evaluate", "rewarded_soups",
             "compare_methods", "sga_sft", "sga_dpo", "moslim_reward_model", "moslim", "moslim_controllability", "mora")
COMPARE_METHODS = ("morlhf", "rewarded_soups", "ric_offline", "ric_online", "pro_wic", "pro_morlhf", "sga_sft", "sga_dpo",
                   "moslim", "mora")


TINY_CAUSAL_ARCHS = ("gpt2", "llama", "qwen2")  # what ``tiny:<arch>`` builds: causal LMs ...
TINY_ENCODER_ARCHS = ("xlm-roberta", "roberta")  # ... and encoders (the orchestrator)


@dataclass
class RunConfig:
    name: str = _field("pro-rl", "Name of the run, used in logs and the tensorboard run name.")
    output_dir: str = _field("runs/default", "Run directory: config.yaml, metrics.jsonl, checkpoints/, final/.")
    seed: int = _field(0, "Seed for data order, sampling and initialisation.", SEED)
    resume: str = _field("never", "'never' starts fresh; 'auto' continues from the last complete checkpoint.")
    overwrite: bool = _field(False, "Let a fresh start (resume 'never') replace the run already in output_dir; without it such a start refuses.")
    device: str = _field("auto", "'auto' (cuda when present, else cpu), 'cpu' or 'cuda'.")
    log_every: int = _field(1, "Log metrics every N steps.", AT_LEAST_ONE)
    checkpoint_every: int = _field(0, "Write a checkpoint every N steps (0: only at the end).", NON_NEGATIVE)
    keep_checkpoints: int = _field(2, "How many most recent checkpoints to keep.", AT_LEAST_ONE)
    progress: bool = _field(True, "Show progress bars.")
    seeds: int = _field(1, "Pipelines demo, compare_methods and mora: repeat the RL stages (mora: self-play, pairs, DPO and evaluation) with seeds seed, seed+1, ... and report the spread across seeds (other pipelines ignore it).", AT_LEAST_ONE)
    score_cache_dir: str = _field("~/.cache/pro_rl/scores", "Where reward-model scores of the orchestrator's pairs are cached by (model weights, texts, length, format) and reused (empty: no cache).")
    report_to: List[str] = _field(["tensorboard"], "Experiment trackers that get every logged metric: tensorboard, wandb, mlflow, none (metrics.jsonl is always written).")


@dataclass
class RewardModelConfig(ModelConfig):
    name: str = _field("???", "Objective name (helpful, harmless, humor, ...).")
    data: str = _field("", "Preference pairs of this objective (file, directory or hub id) for training its reward model.")
    data_adapter: str = _field("auto", "Dataset adapter: auto, canonical, hh_rlhf, ultrafeedback, ultrafeedback_binarized, helpsteer2.")
    data_objective: str = _field("", "Aspect/attribute to read from a multi-aspect dataset (UltraFeedback, HelpSteer2).")
    label_index: int = _field(0, "Which output logit is the reward (0 for one-logit reward models; 1 for a 2-class classifier's positive class).", NON_NEGATIVE)
    response_only: bool = _field(False, "Score the response alone, without the prompt (e.g. a humor classifier).")
    batch_size: int = _field(16, "Sequences per scoring forward pass.", AT_LEAST_ONE)
    score_max_length: int = _field(0, "Token limit when scoring (0: the length the model was trained at, read from its pro_rl_reward_model.json; training.max_length when it has none).", NON_NEGATIVE)
    training: TrainingConfig = _section(lambda: TrainingConfig(learning_rate=1e-5, batch_size=32), "How this reward model is trained.")


@dataclass
class DataConfig:
    general_pairs: str = _field("", "General preference pairs D_rm (prompt, chosen, rejected) for the orchestrator.")
    general_pairs_adapter: str = _field("auto", "Dataset adapter of general_pairs.")
    prompts: str = _field("", "RL training prompts.")
    eval_prompts: str = _field("", "Held-out prompts (optionally with ground-truth 'weights').")
    sft: str = _field("", "Supervised warm-up pairs/responses for the policy (empty: no warm-up).")
    prompt_format: str = _field("auto", "How prompts become model text: 'auto' (strings as given, chat messages through the tokenizer's chat template or the plain Human/Assistant format), 'plain' (strings as given), 'hh' (a string wrapped as '\\n\\nHuman: ...\\n\\nAssistant:'), 'chat' (a string as one user message through the tokenizer's chat template).")
    max_rows: int = _field(0, "Read at most this many rows of each source (0: all).", NON_NEGATIVE)
    max_chars: int = _field(0, "Texts longer than this many characters are bad rows (0: no limit).", NON_NEGATIVE)
    on_bad_row: str = _field("error", "'error' stops naming file and row; 'skip' drops, counts and logs the row.")
    max_identical_pair_share: float = _field(0.1, "Training stops when more than this share of preference pairs have chosen and rejected that differ but become identical once cut to the model's token limit (pairs identical in the data are not counted); 1 never stops.", UNIT)


@dataclass
class OrchestratorConfig(ModelConfig):
    model: str = _field("FacebookAI/xlm-roberta-base", "Backbone of the Preference Orchestrator (sequence classifier with K labels).")
    path: str = _field("", "A trained orchestrator directory, used by RL pipelines when weights.mode is 'orchestrator'.")
    tau: float = _field(0.1, "Temperature τ of the targets w* = softmax(r⁺/τ) (eq. 7).", POSITIVE)
    kl_direction: str = _field("forward", "'forward' = KL(f(x) ‖ w*) as in eq. 8; 'reverse' = KL(w* ‖ f(x)).")
    normalise_rewards: bool = _field(True, "z-score each objective's rewards over the data before eq. 7.")
    max_prompt_length: int = _field(256, "Token limit of a prompt given to the orchestrator.", AT_LEAST_ONE)
    training: TrainingConfig = _section(lambda: TrainingConfig(learning_rate=1e-5, batch_size=32, max_length=256), "How the orchestrator is trained.")
    objective: str = _field("pro_kl", "What the router learns: 'pro_kl' = PRO's KL to softmax(r⁺/τ) (eqs. 7–8); 'bradley_terry' = an ArmoRM-style gate, the Bradley–Terry loss of Σ_k w_k(x)(r̃_k(x,y⁺) − r̃_k(x,y⁻)) on D_rm through the fixed reward models (pro_rl.algorithms.gate).")
    bt_beta: float = _field(1.0, "β of the 'bradley_terry' gate: scale of the mixed margin inside the sigmoid. 1 suits z-scored rewards (margins of order 1, where the sigmoid neither saturates nor goes flat).", POSITIVE)
    eval_every: int = _field(0, "Evaluate on the held-out pairs every this many steps (0: only after the last step).", NON_NEGATIVE)
    select_best: bool = _field(False, "Keep the weights of the evaluation with the lowest held-out eval/kl (needs eval_every > 0; pro_rl.training.orchestrator_schedule): early stopping without stopping.")


@dataclass
class PolicyConfig(ModelConfig):
    model: str = _field("Qwen/Qwen2.5-7B", "The policy LM (causal LM).")
    sft_steps: int = _field(0, "Supervised warm-up steps on data.sft before RL (0: none).", NON_NEGATIVE)
    sft_learning_rate: float = _field(1e-5, "Learning rate of the supervised warm-up.", POSITIVE)
    learning_rate: float = _field(5e-7, "Learning rate of RL updates (PRO Table 6).", POSITIVE)
    critic_learning_rate: float = _field(9e-6, "Learning rate of the PPO critic.", POSITIVE)
    max_prompt_length: int = _field(512, "Prompts are truncated on the left to this many tokens.", AT_LEAST_ONE)
    lora_rank: int = _field(0, "LoRA rank of the supervised stages (SFT warm-up, PRO-WIC/RiC) through peft; 0 trains every weight. Adapters are merged into the saved policy.", NON_NEGATIVE)
    lora_alpha: int = _field(16, "LoRA scaling α.", AT_LEAST_ONE)
    lora_dropout: float = _field(0.0, "Dropout on the LoRA inputs.", FRACTION)
    lora_target_modules: List[str] = _field([], "Module names that get adapters (empty: peft's default for the architecture).")


@dataclass
class WeightsConfig:
    mode: str = _field("orchestrator", "'orchestrator' (PRO, eq. 9), 'fixed' or 'uniform' (MORLHF, eq. 5), 'reward_source' (the reward source's own, e.g. MOSLIM's tags), 'bag_of_words' (the bag-of-words baseline saved beside the orchestrator at orchestrator.path, served by the orchestrator actor) or 'oracle' (the true weights w*(x) from weights.function).")
    fixed: List[float] = _field([], "The fixed weight vector (mode 'fixed'); must lie on the simplex, one entry per objective.")
    function: str = _field("", "Mode 'oracle': 'module:function' mapping a list of rendered prompts to one {objective: weight} dict per prompt, on the simplex (the toy world's: 'pro_rl.data.toy_world_oracle:true_prompt_weights').")


@dataclass
class AlgorithmConfig:
    name: str = _field("rloo", "'ppo', 'rloo' or 'online_dpo'.")
    steps: int = _field(100, "RL steps (one batch of prompts each).", AT_LEAST_ONE)
    prompt_batch_size: int = _field(16, "Prompts per RL step (each gets rollout.num_samples responses).", AT_LEAST_ONE)
    kl_coef: float = _field(0.1, "β of the KL penalty (PRO Table 6).", NON_NEGATIVE)
    kl_estimator: str = _field("k1", "KL estimator: k1, k2 or k3.")
    adaptive_kl: bool = _field(False, "Adapt β towards target_kl (Ziegler et al.).")
    target_kl: float = _field(3.0, "Target KL of the adaptive controller.", POSITIVE)
    kl_horizon: int = _field(10000, "Horizon of the adaptive controller.", AT_LEAST_ONE)
    normalise_rewards: bool = _field(True, "Running z-score of each objective before weighting (normalise-then-weight).")
    clip_eps: float = _field(0.2, "Policy ratio clipping ε.", POSITIVE)
    value_clip_eps: float = _field(0.2, "Value clipping ε (PPO).", POSITIVE)
    vf_coef: float = _field(0.1, "Value loss coefficient (PPO).", NON_NEGATIVE)
    gamma: float = _field(1.0, "Discount γ (PPO GAE).", UNIT)
    lam: float = _field(0.95, "GAE λ (PPO).", UNIT)
    ppo_epochs: int = _field(4, "Optimisation epochs over each batch of rollouts.", AT_LEAST_ONE)
    mini_batch_size: int = _field(0, "Sequences per optimizer step inside an epoch (0: whole batch).", NON_NEGATIVE)
    dpo_beta: float = _field(0.1, "β of the online DPO loss.", POSITIVE)
    dpo_loss: str = _field("sigmoid", "'sigmoid' or 'ipo'.")
    on_bad_reward: str = _field("error", "NaN/inf reward: 'error' names objective and count; 'skip' drops those samples, counted.")
    normalize_advantages: bool = _field(False, "RLOO: whiten the advantages over the batch (TRL's RLOOConfig.normalize_advantages, default False there too).")
    reward_source: str = _field("reward_models", "Registered reward source the score stage calls: 'reward_models' (K reward models or module:function rewards, one per objective).")
    off_policy_steps: int = _field(0, "0: generate, then train, one after the other. 1: the engines generate the next batch with the current weights while the policy trains on this one (one update of lag, checked); RLOO and PPO take their ratios against the log-probs the engines report for the weights that sampled. With rollout.backend=vllm it needs rollout.top_p=1 and rollout.top_k=0.", Range(0, 1))


@dataclass
class RolloutConfig:
    backend: str = _field("hf", "'hf' (transformers generate, CPU/GPU) or 'vllm' (GPU).")
    num_samples: int = _field(8, "Responses sampled per prompt (PRO Table 6: 8).", AT_LEAST_ONE)
    temperature: float = _field(0.8, "Sampling temperature (PRO Table 6: 0.8).", NON_NEGATIVE)
    top_p: float = _field(0.95, "Nucleus sampling top-p (PRO Table 6: 0.95).", PROBABILITY)
    top_k: int = _field(0, "Top-k sampling (0: off).", NON_NEGATIVE)
    max_new_tokens: int = _field(128, "Tokens generated per response.", AT_LEAST_ONE)
    tensor_parallel_size: int = _field(1, "vLLM tensor-parallel size.", AT_LEAST_ONE)
    gpu_memory_utilization: float = _field(0.5, "vLLM GPU memory share.", PROBABILITY)
    kv_cache_memory_bytes: int = _field(0, "vLLM KV cache size in bytes; 0: vLLM sizes it from free memory.",
                                        NON_NEGATIVE)
    in_driver: bool = _field(False, "The pipelines that sample without an RL loop (evaluate, Rewarded Soups, PRO-WIC/RiC, MORA, compare) generate and score in the driver process instead of on the rollout engines and reward actors: no Ray; hf backend only. For tiny runs on one machine and tests.")


@dataclass
class TrainerConfig:
    zero_stage: int = _field(0, "DeepSpeed ZeRO stage 0-3 (CPU with gloo and GPU); the RL weight sync gathers ZeRO-3 partitions a bucket at a time.", ZERO_STAGE)
    bf16: bool = _field(False, "bf16 mixed precision (GPU).")
    gradient_checkpointing: bool = _field(False, "Recompute activations in the backward pass.")
    offload_optimizer: bool = _field(False, "ZeRO optimizer state offload to CPU.")
    micro_batch_size: int = _field(0, "Sequences per forward pass in RL updates (0: whole mini-batch).", NON_NEGATIVE)
    group_timeout_s: float = _field(600.0, "Seconds a rank of a training group (resources.policy/critic.replicas > 1) waits in a collective before failing, e.g. when a peer died.", POSITIVE)


@dataclass
class RoleResources:
    num_cpus: float = _field(1.0, "CPUs reserved per replica.", NON_NEGATIVE)
    num_gpus: float = _field(0.0, "GPUs per replica (fractions allowed to share a GPU).", NON_NEGATIVE)
    replicas: int = _field(1, "Number of actors of this role. rollout: engines that share the generation; policy, critic: ranks of one DeepSpeed data-parallel group (each update's rows split over them); reference: actors that split the log-prob rows; reward, orchestrator: 1.", AT_LEAST_ONE)
    colocate_with: str = _field("", "Role whose placement-group bundle this role shares (empty: its own).")
    placement: str = _field("", "Placement of this role's replicas: empty shares the run's PACK placement group (all replicas in one bundle); PACK, SPREAD, STRICT_PACK or STRICT_SPREAD gives the role a placement group of its own with one bundle per replica under that Ray strategy (STRICT_SPREAD: every replica on a different node).")


@dataclass
class ResourcesConfig:
    policy: RoleResources = _section(RoleResources, "Policy trainer actor.")
    reference: RoleResources = _section(lambda: RoleResources(num_cpus=0.25), "Reference model actor.")
    reward: RoleResources = _section(lambda: RoleResources(num_cpus=0.25), "Each reward actor (one per objective).")
    orchestrator: RoleResources = _section(lambda: RoleResources(num_cpus=0.25), "Orchestrator actor.")
    rollout: RoleResources = _section(lambda: RoleResources(num_cpus=0.5), "Rollout engine actor(s).")
    critic: RoleResources = _section(lambda: RoleResources(num_cpus=0.25), "Critic actor (PPO).")
    ray_address: str = _field("", "Ray cluster to join: empty starts a local one (or joins RAY_ADDRESS under `ray job submit`); 'auto' joins a `ray start` cluster.")
    num_cpus: int = _field(0, "CPUs of a local cluster started by the driver (0: all).", NON_NEGATIVE)


@dataclass
class WicConfig:
    conditioning: str = _field("wic", "'wic': PRO-WIC weight tags <W1> w1 ... (eqs. 10-11); 'ric': RiC reward-score tags <rm1_score> s1 ...")
    offline_data: str = _field("", "Rows {prompt, response or chosen} of the offline stage (empty: data.sft).")
    offline_steps: int = _field(10000, "SFT steps of the offline stage (PRO A.2: 10,000).", AT_LEAST_ONE)
    online_iterations: int = _field(2, "Online rejection-sampling iterations (PRO A.2: 2 epochs).", NON_NEGATIVE)
    online_steps: int = _field(5000, "SFT steps per online iteration (PRO A.2: 5,000).", AT_LEAST_ONE)
    online_prompts: int = _field(5000, "Prompts sampled from data.prompts per online iteration (PRO A.2: 5,000).", AT_LEAST_ONE)
    samples_per_prompt: int = _field(1, "Responses generated per sampled prompt in the online stage.", AT_LEAST_ONE)
    online_weights: str = _field("orchestrator", "Weights of online prompts for 'wic': 'orchestrator' (orchestrator.path, PRO) or 'uniform'.")
    online_labels: str = _field("realised", "Tags of kept online rows for 'wic': 'realised' (softmax of the rewards the sample earned, RiC's relabelling) or 'recommended' (the orchestrator's f(x) it was generated with, PRO eq. 11 read literally).")
    quantile: float = _field(0.7, "Keep an online sample if any objective's score is >= its q-quantile (RiC: 0.7).", UNIT)
    tau: float = _field(0.1, "τ of the row labels w = softmax(z/τ) of a response's own z-scored rewards (eq. 7 / 10).", POSITIVE)
    tau_mode: str = _field("fixed", "'wic': 'fixed' (labels use wic.tau), 'matched' (the τ at which the offline labels are on average as soft as the orchestrator's weights on the online prompts, by entropy; needs orchestrator.path; used offline and online) or 'both' (every row twice: wic.tau and the matched τ).")
    random_fraction: float = _field(0.0, "'wic', label mixing: the fraction of online prompts tagged with a random weight vector (uniform on the simplex) instead of the orchestrator's f(x); kept samples are labelled as wic.online_labels says (0: none).", UNIT)


@dataclass
class EvaluateConfig:
    method: str = _field("wic", "'wic' (weight tags), 'ric' (score tags), 'soups' (interpolated policies) or 'fixed' (no tags) or 'moslim' (intensity tags, MOSLIM) or 'sga' (SGA's scores: the grid through scores_from_weights, the sensed 'adaptive' point, Table 5).")
    policy: str = _field("", "Policy directory to evaluate (empty: policy.model); wic/ric read wic_conditioning.json from it.")
    soup_policies: List[str] = _field([], "Method 'soups': one single-objective policy directory per objective, in objective order.")
    grid: List[List[float]] = _field([], "Weight points to evaluate (empty: 11 points for K=2, the fixed 13-point set for K=3).")
    num_prompts: int = _field(0, "Held-out prompts of data.eval_prompts to generate for (0: all).", NON_NEGATIVE)
    samples_per_prompt: int = _field(4, "Responses per prompt and grid point; each prompt's mean over them is one row of the bootstrap over prompts.", AT_LEAST_ONE)
    reference_point: List[float] = _field([], "Hypervolume reference point, one value per objective (empty: the component-wise minimum of the points minus 1).")
    orchestrator_point: bool = _field(True, "Also evaluate at the orchestrator's per-prompt default weights (needs orchestrator.path).")
    untagged_point: bool = _field(True, "Method 'moslim': also evaluate the prompts without tags (MOSLIM's default point).")
    interval_level: float = _field(0.95, "Confidence level of the bootstrap intervals over prompts (evaluate, demo, compare_methods, moslim_controllability).", Range(0, 1, low_open=True, high_open=True))
    bootstrap_resamples: int = _field(1000, "Bootstrap resamples per interval (evaluate, demo, compare_methods, moslim_controllability).", AT_LEAST_ONE)
    baseline_policy: str = _field("", "Method 'sga': policy directory (e.g. the SFT policy) whose responses the SGA strategies' win rates are taken against (empty: no win rates).")
    sga_strategies: List[str] = _field(["adaptive", "fixed_0.25", "fixed_0.5", "fixed_1.0", "ground_truth"], "Method 'sga': inference strategies of the SGA Table-5 analogue: adaptive (sensed scores), fixed_<s> (every score s in [0, 1]), ground_truth (the toy world's targets for w*); empty: none.")


@dataclass
class SoupsConfig:
    rl_config: str = _field("", "Rewarded Soups: the RL config (e.g. configs/tiny/pro_morlhf.yaml) run once per objective with one-hot fixed weights.")
    rl_overrides: List[str] = _field([], "Dotted overrides applied to every single-objective RL run (before weights and output_dir).")


@dataclass
class CompareConfig:
    methods: List[str] = _field(list(COMPARE_METHODS), "Methods of the compare_methods pipeline, in run order: morlhf, rewarded_soups, ric_offline, ric_online, pro_wic, pro_morlhf, sga_sft, sga_dpo, moslim, mora.")
    sft_config: str = _field("configs/tiny/sft.yaml", "Config of the shared SFT warm-up (the RL methods' initial policy).")
    orchestrator_config: str = _field("configs/tiny/orchestrator.yaml", "Config of the orchestrator that PRO-WIC and PRO-MORLHF share.")
    rl_config: str = _field("configs/tiny/pro_morlhf.yaml", "RL config of MORLHF, PRO-MORLHF and the Rewarded Soups experts.")
    wic_config: str = _field("configs/tiny/pro_wic.yaml", "Config of PRO-WIC and RiC.")
    sga_config: str = _field("configs/tiny/sga_sft.yaml", "Config of SGA-SFT (also the start of SGA-DPO).")
    sga_dpo_config: str = _field("configs/tiny/sga_dpo.yaml", "Config of SGA-DPO.")
    moslim_reward_model_config: str = _field("configs/tiny/moslim_reward_model.yaml", "Config of MOSLIM's multi-head classifier.")
    moslim_config: str = _field("configs/tiny/moslim.yaml", "RL config of MOSLIM.")
    mora_config: str = _field("configs/tiny/mora.yaml", "Config of MORA (run on the comparison's prompts and rewards from the shared SFT warm-up).")
    rl_steps: int = _field(90, "RL steps of MORLHF and PRO-MORLHF; the K Rewarded Soups experts get rl_steps // K each, and the online stages of RiC and PRO-WIC sample as many responses in all.", AT_LEAST_ONE)
    overrides: List[str] = _field([], "Dotted overrides applied to every stage's run, before the settings that define each method, its budget and its paths.")


@dataclass
class ProRLConfig:
    pipeline: str = _field("pro_morlhf", "What `pro-rl run` runs: reward_models, orchestrator, sft, pro_morlhf, demo, pro_wic, evaluate, rewarded_soups, compare_methods, sga_sft, sga_dpo, moslim_reward_model, moslim, moslim_controllability, mora.")
    run: RunConfig = _section(RunConfig, "Run directory, seed, resume, logging.")
    data: DataConfig = _section(DataConfig, "Data sources and bad-row handling.")
    policy: PolicyConfig = _section(PolicyConfig, "The policy LM.")
    reward_models: List[RewardModelConfig] = _field([], "One entry per objective: name, model or module:function, data, training.")
    orchestrator: OrchestratorConfig = _section(OrchestratorConfig, "The Preference Orchestrator.")
    weights: WeightsConfig = _section(WeightsConfig, "Where the per-prompt weight vectors come from.")
    algorithm: AlgorithmConfig = _section(AlgorithmConfig, "RL algorithm and its coefficients.")
    rollout: RolloutConfig = _section(RolloutConfig, "Sampling settings, the same for every backend.")
    trainer: TrainerConfig = _section(TrainerConfig, "DeepSpeed engine settings.")
    resources: ResourcesConfig = _section(ResourcesConfig, "Ray resources per role.")
    wic: WicConfig = _section(WicConfig, "PRO-WIC / RiC: weight- or score-conditioned SFT with online rejection sampling.")
    evaluate: EvaluateConfig = _section(EvaluateConfig, "Pareto-front evaluation over a weight grid (pipeline 'evaluate').")
    soups: SoupsConfig = _section(SoupsConfig, "Rewarded Soups: K single-objective RL runs, interpolated at evaluation.")
    compare: CompareConfig = _section(CompareConfig, "compare_methods: every method at one budget, evaluated into one run directory.")
    moslim: MoslimConfig = _section(MoslimConfig, "MOSLIM: multi-head intensity reward model and tag-conditioned RL.")
    sga: SgaConfig = _section(SgaConfig, "SGA: dual-head policy with a score head (pipelines sga_sft, sga_dpo).")
    mora: MoraConfig = _section(MoraConfig, "MORA: pre-sampling, single-reward prompt mining, intent-fusion rewriting and max-margin DPO (pipeline mora).")
    extra: Dict[str, Any] = _field({}, "Free-form values for a pipeline's own use.")

    @property
    def objectives(self) -> List[str]:
        """The K objectives: the reward models' names, or MOSLIM's heads (``moslim.levels``) when it has none."""
        return [reward_model.name for reward_model in self.reward_models] or list(self.moslim.levels)
