import pytest
import torch

from pro_rl.models.tokenizer import train_tiny_tokenizer
from pro_rl.training.bag_of_words import BagOfWordsBaseline

TEXTS = ["fix my bike", "tell me a joke", "steal a car", "fix the car", "a funny joke"]


@pytest.fixture(scope="module")
def tokenizer():
    return train_tiny_tokenizer(TEXTS * 20, vocab_size=64)


def test_save_and_load_give_the_same_predictions(tokenizer, tmp_path):
    targets = torch.tensor([[0.9, 0.05, 0.05], [0.05, 0.05, 0.9], [0.05, 0.9, 0.05], [0.9, 0.05, 0.05],
                            [0.05, 0.05, 0.9]])
    baseline = BagOfWordsBaseline(tokenizer, 3, seed=0, steps=50)
    baseline.fit(TEXTS, targets)
    path = baseline.save(tmp_path)
    assert path == tmp_path / "bag_of_words.safetensors"
    loaded = BagOfWordsBaseline.load(tmp_path, tokenizer)
    assert torch.equal(loaded.predict(TEXTS), baseline.predict(TEXTS))
    assert loaded.predict(["fix my bike"]).argmax().item() == 0  # it learned the targets


def test_load_names_what_is_missing_or_mismatched(tokenizer, tmp_path):
    with pytest.raises(FileNotFoundError, match="no bag-of-words baseline at"):
        BagOfWordsBaseline.load(tmp_path, tokenizer)
    other = BagOfWordsBaseline(tokenizer, 3)
    other.linear = torch.nn.Linear(len(tokenizer) + 5, 3)  # fitted with another tokenizer
    other.save(tmp_path)
    with pytest.raises(ValueError, match=f"has {len(tokenizer) + 5} features but the tokenizer beside it has"):
        BagOfWordsBaseline.load(tmp_path, tokenizer)
