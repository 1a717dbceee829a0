"""Shipping a trained embedder (eval/ship_embedder.py) and the default model it becomes:
fp16 weights with a manifest that identifies them, loaded back as fp32. A tiny random
BERT stands in for the trained model (what is tested is the folder, not the quality)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from corpus import config
from corpus.errors import UsageError
from eval.ship_embedder import MANIFEST, WEIGHTS, ship
from indexer.models import base_model_path, default_model_path, model_name, weights_fingerprint


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Path:
    """A 1-layer random BERT folder with a `fagui train` record beside it."""
    import torch
    from transformers import BertConfig, BertModel

    folder = tmp_path_factory.mktemp("trained")
    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=21128, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=64)).save_pretrained(folder)
    for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"):
        shutil.copy(base_model_path() / name, folder / name)
    questions = tmp_path_factory.mktemp("data") / "domain_dev.jsonl"
    questions.write_text('{"id": "dg-002"}\n', encoding="utf-8")
    (folder / "fagui_train.json").write_text(json.dumps({
        "fingerprint": weights_fingerprint(folder), "base_model": str(base_model_path()), "base_fingerprint": "b" * 64,
        "sources": [{"file": str(questions), "collection": "default", "weight": 3, "train": 1, "pairs": 3}],
        "settings": {"seed": 3, "epochs": 1, "issue_map": True}, "pairs": 3, "steps": 1, "seconds": {"training": 1.0}, "created": "2026-12-01T00:00:00+00:00",
    }), encoding="utf-8")
    return folder


def test_shipped_folder_holds_fp16_weights_its_manifest_identifies(trained, tmp_path):
    from safetensors import safe_open

    out = tmp_path / "models" / "embedder"
    out.parent.mkdir()
    entry = ship(trained, out)
    assert json.loads((out / MANIFEST).read_text(encoding="utf-8")) == entry
    assert entry["sha256"] == weights_fingerprint(out) != weights_fingerprint(trained) == entry["trained_sha256"]
    with safe_open(str(out / WEIGHTS), framework="pt") as handle:
        assert {str(handle.get_slice(k).get_dtype()) for k in handle.keys()} == {"F16"}
    assert entry["bytes"] == (out / WEIGHTS).stat().st_size < (trained / WEIGHTS).stat().st_size * 0.6
    assert entry["fp16_min_cosine"] >= 0.999
    assert entry["data"] == [{"collection": "default", "weight": 3, "train": 1, "pairs": 3, "file": "domain_dev.jsonl",
                              "sha256": entry["data"][0]["sha256"]}] and len(entry["data"][0]["sha256"]) == 64
    assert "fagui train --issue-map --out MODEL_DIR --seed 3 &&" in entry["command"]  # the run's own options
    assert not list(tmp_path.glob("models/.embedder.ship-*"))
    again = ship(trained, out)  # shipping twice replaces the folder and gives the same weights
    assert again["sha256"] == entry["sha256"]


def test_a_shipped_folder_is_the_default_model_and_computes_in_fp32(trained, tmp_path, monkeypatch):
    import torch

    from indexer.embedder import Embedder

    out = tmp_path / "embedder"
    ship(trained, out)
    monkeypatch.delenv("FAGUI_MODEL", raising=False)
    monkeypatch.setattr(config, "SHIPPED_EMBEDDER", tmp_path / "absent")
    assert default_model_path() == base_model_path()  # a checkout without one: m3e-small
    monkeypatch.setattr(config, "SHIPPED_EMBEDDER", out)
    assert default_model_path() == out and model_name(out) == "fagui-embed-m3e-small"
    embedder = Embedder(precision="fp32")
    assert embedder.model_path == out and embedder.name == "fagui-embed-m3e-small"
    assert {p.dtype for p in embedder.model.parameters()} == {torch.float32}
    assert embedder.encode(["国家赔偿"]).shape == (1, 32)
    monkeypatch.setenv("FAGUI_MODEL", str(trained))
    assert default_model_path() == trained  # FAGUI_MODEL still wins


def test_a_folder_without_trained_weights_is_refused_by_name(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(UsageError, match="empty: no model.safetensors"):
        ship(tmp_path / "empty", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_the_reproduce_command_names_the_runs_data_options():
    from eval.ship_embedder import reproduce_command

    assert "fagui train --out" in reproduce_command({"seed": 0})
    assert "fagui train --issue-map --issue-probes --epochs 2 --out MODEL_DIR --seed 3" in reproduce_command(
        {"issue_map": True, "issue_probes": True, "epochs": 2, "seed": 3})


def test_the_manifest_hashes_every_file_of_a_several_file_source(tmp_path):
    """The probe sets are one training source of many files: each is named and hashed
    (a joined label once crashed `ship` with ENAMETOOLONG)."""
    from corpus.hashing import file_sha256
    from eval.ship_embedder import data_entry

    files = [tmp_path / "tuning.jsonl", tmp_path / "tuning2.jsonl"]
    for i, path in enumerate(files):
        path.write_text(f'{{"id": "p{i}"}}\n', encoding="utf-8")
    label = " + ".join(p.name for p in files)
    entry = data_entry({"file": label, "files": [str(p) for p in files], "collection": "default", "weight": 1, "pairs": 2})
    assert entry["file"] == label and entry["pairs"] == 2
    assert entry["files"] == [{"file": p.name, "sha256": file_sha256(p)} for p in files]
    single = data_entry({"file": str(files[0]), "collection": "national", "weight": 1})
    assert single == {"collection": "national", "weight": 1, "file": "tuning.jsonl", "sha256": file_sha256(files[0])}
    legacy = data_entry({"file": " + ".join(f"tuning{i}.jsonl" for i in range(40))})  # longer than a file name may be
    assert "sha256" not in legacy
