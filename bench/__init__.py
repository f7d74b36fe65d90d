"""Benchmarks of pro-rl (not tests): timings as ratios against a peer or a baseline, measured in one run.

Run each from the repository root as a module, e.g. ``python -m bench.cpu_vs_trl``; results and the commands that
produced them are in ``docs/benchmarks.md``. Layout:

- ``measure``: machine and load information, the process-tree CPU sampler, medians, GPU-synchronised stage timing;
- ``pipeline_side``: our RL pipeline (``pipelines.run`` on ``configs/tiny/pro_morlhf.yaml``) timed from outside;
- ``trl_side``: TRL 1.16's RLOO and online-DPO trainers with the same settings, timed by stage;
- ``gpu_shapes``: model shapes of the GPU benchmarks (Qwen2.5-0.5B, xlm-roberta-base, and tiny stand-ins);
- scripts: ``cpu_vs_trl``, ``k_scaling``, ``gpu_step``, ``rollout_throughput``, ``make_orchestrator``,
  ``training_groups`` (a 1-rank policy against a 2-rank training group on CPU).
"""
