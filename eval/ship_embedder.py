"""Ship a trained embedder: `python -m eval.ship_embedder MODEL_DIR [--out models/embedder]`.

`fagui train` writes an fp32 sentence-transformers folder (96 MB for m3e-small). The
repository ships the same model with its weights stored in fp16 (48 MB, under the
60 MB issue 14 allows): every weight is rounded once to the nearest fp16 value and is
loaded back as fp32 (`indexer.models.fp32_model_kwargs`), so indexing and queries compute in fp32
exactly as before; only the rounding differs, and `check_rounding` measures what it
does to the vectors (cosine of fp32 and fp16 vectors of probe texts) before the folder
is written. The folder gets a `manifest.json` (name, weights sha256 = the fingerprint
index manifests record, the trained fp32 fingerprint, base model, training data with
sha256, settings, training time, the command that reproduces it) next to the model's
own files. Writing is atomic: a staging folder renamed into place.
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from corpus import config
from corpus.errors import UsageError
from corpus.hashing import file_sha256
from eval.splits import SPLIT_SUMMARY
from indexer.models import fp32_model_kwargs, weights_fingerprint

MANIFEST = "manifest.json"
FORMAT = 1
NAME = "fagui-embed-m3e-small"
WEIGHTS = "model.safetensors"
#: Files of a sentence-transformers folder that describe the model (weights aside).
MODEL_FILES = ("config.json", "config_sentence_transformers.json", "modules.json", "sentence_bert_config.json",
               "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.txt", "1_Pooling/config.json")
#: The fp16 weights must give vectors this close to the fp32 ones (cosine, worst probe).
MIN_COSINE = 0.999
PROBES = ("受托企业泄露政务数据，委托的行政机关要承担什么责任？", "健康码被错误赋红码，能要求国家赔偿吗？",
          "中华人民共和国个人信息保护法 第六十九条 处理个人信息侵害个人信息权益造成损害，个人信息处理者不能证明自己没有过错的，应当承担损害赔偿等侵权责任。",
          "劳动合同期满，用人单位不续签要给补偿吗？")


def reproduce_command(settings: dict) -> str:
    """The commands that rebuild the shipped folder from the shared data, with the
    training run's own options (seed, epochs, the issue map, the probes)."""
    options = " --issue-map" if settings.get("issue_map") else ""
    options += " --issue-probes" if settings.get("issue_probes") else ""
    options += f" --epochs {settings['epochs']}" if settings.get("epochs", 1) != 1 else ""
    return (f"FAGUI_HOME=<home with built national and default indexes> fagui train{options} --out MODEL_DIR "
            f"--seed {settings.get('seed', 0)} && python -m eval.ship_embedder MODEL_DIR")


def fp16_state(model_dir: Path) -> dict:
    """The folder's weights rounded to fp16 (safetensors only: what `fagui train` writes)."""
    from safetensors.torch import load_file  # torch: only when shipping

    path = model_dir / WEIGHTS
    if not path.is_file():
        raise UsageError(f"{model_dir}: no {WEIGHTS} (expected a folder written by `fagui train`)")
    return {name: tensor.half().contiguous() for name, tensor in load_file(str(path)).items()}


def check_rounding(fp32_dir: Path, fp16_dir: Path, probes=PROBES) -> float:
    """The worst cosine between the fp32 model's and the fp16 folder's vectors of `probes`."""
    from sentence_transformers import SentenceTransformer  # seconds and ~500 MB: only when shipping

    vectors = []
    for folder in (fp32_dir, fp16_dir):
        model = SentenceTransformer(str(folder), device="cpu", local_files_only=True, model_kwargs=fp32_model_kwargs())
        vectors.append(model.encode(list(probes), normalize_embeddings=True))
    return float(np.min(np.sum(vectors[0] * vectors[1], axis=1)))


def _is_file(path: Path) -> bool:
    """`Path.is_file` that answers False for a name the OS refuses (ENAMETOOLONG): records
    before session 21 put the probe sets' joined names in `file`."""
    try:
        return path.is_file()
    except OSError:
        return False


def _hashed(path: Path) -> dict:
    """A data file's name, with its sha256 when the file is still there."""
    return {"file": path.name} | ({"sha256": file_sha256(path)} if _is_file(path) else {})


def data_entry(source: dict) -> dict:
    """One training source of `fagui train`'s record: its counts, its file name and sha256;
    a source made of several files (the probe sets) records `files`, each hashed. A file
    that no longer exists keeps its name without a hash rather than a guessed one."""
    entry = {k: source[k] for k in ("collection", "weight", "train", "pairs") if k in source}
    if "files" in source:
        return entry | {"file": source.get("file", ""), "files": [_hashed(Path(f)) for f in source["files"]]}
    return entry | _hashed(Path(source.get("file", "")))


def manifest(model_dir: Path, out: Path, cosine: float) -> dict:
    """What the shipped folder is and how to reproduce it (from `fagui train`'s record)."""
    info_path = model_dir / "fagui_train.json"
    info = json.loads(info_path.read_text(encoding="utf-8")) if info_path.is_file() else {}
    data = [data_entry(source) for source in info.get("sources", [])]
    return {
        "name": NAME,
        "format": FORMAT,
        "sha256": weights_fingerprint(out),
        "bytes": (out / WEIGHTS).stat().st_size,
        "dtype": "float16 weights, loaded as float32",
        "trained_sha256": info.get("fingerprint") or weights_fingerprint(model_dir),
        "fp16_min_cosine": round(cosine, 6),
        "base_model": Path(info.get("base_model", "m3e-small")).name,
        "base_fingerprint": info.get("base_fingerprint", ""),
        "data": data,
        "split": SPLIT_SUMMARY,
        "settings": info.get("settings", {}),
        "pairs": info.get("pairs"),
        "steps": info.get("steps"),
        "seconds": info.get("seconds", {}),
        "trained": info.get("created", ""),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": reproduce_command(info.get("settings", {})),
    }


def ship(model_dir: str | os.PathLike, out: str | os.PathLike = config.SHIPPED_EMBEDDER) -> dict:
    """Write `out` (default `models/embedder/`) from the trained folder; returns its manifest."""
    from safetensors.torch import save_file  # imports torch: only when shipping

    model_dir, out = Path(model_dir).resolve(), Path(out).resolve()
    state = fp16_state(model_dir)
    staging = out.with_name(f".{out.name}.ship-{secrets.token_hex(3)}")
    try:
        for name in MODEL_FILES:
            if (model_dir / name).is_file():
                (staging / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(model_dir / name, staging / name)
        save_file(state, str(staging / WEIGHTS), metadata={"format": "pt"})
        os.chmod(staging / WEIGHTS, 0o644)  # safetensors writes 0600; the repository file is world-readable
        cosine = check_rounding(model_dir, staging)
        if cosine < MIN_COSINE:
            raise UsageError(f"{model_dir}: fp16 weights change the vectors too much (cosine {cosine:.5f} < {MIN_COSINE})")
        entry = manifest(model_dir, staging, cosine)
        (staging / MANIFEST).write_text(json.dumps(entry, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        os.rename(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return entry


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_dir", help="a folder written by `fagui train`")
    parser.add_argument("--out", default=str(config.SHIPPED_EMBEDDER))
    args = parser.parse_args(argv)
    config.prepare_model_runtime()
    try:
        entry = ship(args.model_dir, args.out)
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(json.dumps({k: entry[k] for k in ("name", "sha256", "bytes", "trained_sha256", "fp16_min_cosine")}, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
