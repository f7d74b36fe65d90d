"""Model shapes of the GPU benchmarks, built from configs with random weights (nothing is downloaded).

``QWEN_05B`` is Qwen2.5-0.5B's architecture (the PRO paper's UltraFeedback reward models, and our 0.5B-class policy),
``XLMR_BASE`` xlm-roberta-base's (the orchestrator); the ``SMALL_*`` shapes stand in for them to check a script on a
CPU (``--small``).
"""

QWEN_05B = dict(hidden_size=896, num_hidden_layers=24, num_attention_heads=14, num_key_value_heads=2,
                intermediate_size=4864, vocab_size=151936, max_position_embeddings=4096, tie_word_embeddings=True)
XLMR_BASE = dict(hidden_size=768, num_hidden_layers=12, num_attention_heads=12, intermediate_size=3072,
                 vocab_size=250002, max_position_embeddings=514, type_vocab_size=1)
SMALL_QWEN = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=2, num_key_value_heads=1,
                  intermediate_size=128, vocab_size=1000)
SMALL_XLMR = dict(hidden_size=64, num_hidden_layers=2, num_attention_heads=2, intermediate_size=128, vocab_size=1000)
