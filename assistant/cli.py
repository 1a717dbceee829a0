"""`fagui` command line: one function per subcommand; errors become messages only here.

Configuration comes from arguments first, then environment variables (all read by
`corpus.config`), then defaults. Exit codes: 0 done, 1 some files failed or an internal
error (printed with its traceback), 2 bad input (`corpus.errors.UsageError`, a file that
cannot be read, a missing index), 130 interrupted.

Each subcommand imports the modules it needs inside its function, so `fagui --help` or
`fagui ingest` load neither the index, Gradio nor the evaluation stack (importing every
layer costs about a second); tests/test_layers.py lists this as the one module exempt from
explaining each deferred import.
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import sys
import time
import traceback
from pathlib import Path

from assistant.protocol import DEFAULT_MODE, MODES
from assistant.records import LAYER_SLOTS, SLOT_NAMES, also_called_text
from corpus import config
from corpus.errors import UsageError
from corpus.records import DOC_TYPES, IngestError

EXIT_OK, EXIT_FAILURES, EXIT_USAGE = 0, 1, 2


def _progress_enabled(args: argparse.Namespace) -> bool:
    """Bars for humans; off with --quiet and in CI logs (CI=true)."""
    return not getattr(args, "quiet", False) and not config.progress_hidden_by_ci()


def _print_reports(reports, as_json: bool) -> None:
    out = sys.stdout  # looked up per call so redirected/captured output works
    if as_json:
        json.dump([r.to_dict() for r in reports], out, ensure_ascii=False, indent=2)
        out.write("\n")
        return
    for report in reports:
        if not report.ok:
            out.write(f"FAILED  {report.path}: {report.error}\n")
            continue
        pages = f", {report.pages} pages" if report.pages else ""
        status = f" [{report.status}]" if report.status and report.status != "current" else ""
        if report.duplicate_of:
            status = f" [{report.status}: {report.duplicate_of} is searched instead]"
        if report.repealed_by:
            status = f" [{report.status}: repealed by {report.repealed_by}]"
        out.write(f"OK      {report.path}\n        {report.doc_type} 《{report.title}》{status}: {report.units} units{pages}\n")
        for warning in report.warnings:
            out.write(f"        warning: {warning}\n")


def cmd_ingest(args: argparse.Namespace) -> int:
    """Parse files (a directory is walked) and report; with --collection, add them to it."""
    from corpus.catalog import add_files, report_joined_statuses, set_statuses
    from corpus.ingest import finalize, ingest_files, iter_files

    files = iter_files([Path(p) for p in args.paths])
    missing = [p for p in files if not p.exists()]
    for path in missing:
        print(f"FAILED  {path}: no such file or directory", file=sys.stderr)
    files = [p for p in files if p.exists()]
    result = ingest_files(files, ocr=not args.no_ocr, progress=_progress_enabled(args))
    set_statuses(result.reports, finalize(result.documents))
    if args.doc_type:  # the user's word over the inferred type (kept with the collection's files)
        for report in result.reports:
            if report.ok:
                report.doc_type = args.doc_type
    if not args.collection:
        _print_reports(result.reports, args.json)
        return EXIT_FAILURES if (result.failed or missing) else EXIT_OK
    good = [r for r in result.reports if r.ok]  # a failed file is never added
    stored = add_files(args.collection, [Path(r.path) for r in good], doc_type=args.doc_type)
    # the status that matters is among the collection's documents (a PDF of a law it holds is a duplicate)
    report_joined_statuses(args.collection, list(zip(good, stored)))
    _print_reports(result.reports, args.json)
    print(f"added {len(good)} file(s) to collection {args.collection!r}", file=sys.stderr if args.json else sys.stdout)
    _refresh_index(args)
    return EXIT_FAILURES if (result.failed or missing) else EXIT_OK


def _refresh_index(args: argparse.Namespace) -> None:
    """Bring an existing index up to date with its collection (see assistant.manage)."""
    from assistant.manage import refresh_index

    report = refresh_index(args.collection, progress=_progress_enabled(args))
    if report is None:
        print(f"collection {args.collection!r} has no index yet; build it with `fagui index --collection {args.collection}`",
              file=sys.stderr)
        return
    print(f"index updated: embedded {report.embedded} new passage(s), {report.cached} from cache", file=sys.stderr)


def cmd_remove(args: argparse.Namespace) -> int:
    """Remove a document (by its source path in the collection) and update the index."""
    from corpus.catalog import remove_document

    if not remove_document(args.collection, args.source_path):
        print(f"error: no document {args.source_path!r} in collection {args.collection!r}", file=sys.stderr)
        return EXIT_FAILURES
    print(f"removed {args.source_path} from collection {args.collection!r}")
    _refresh_index(args)
    return EXIT_OK


def cmd_collection(args: argparse.Namespace) -> int:
    """Parse a whole collection and print its per-file report and totals."""
    from corpus.catalog import load_collection

    started = time.perf_counter()
    result = load_collection(args.collection, progress=_progress_enabled(args), use_cache=not args.no_cache)
    elapsed = time.perf_counter() - started
    if args.json:
        _print_reports(result.reports, True)
    elif args.verbose:
        _print_reports(result.reports, False)
    docs = result.documents
    by_status: dict[str, int] = {}
    for doc in docs:
        by_status[doc.status] = by_status.get(doc.status, 0) + 1
    units = sum(len(d.units) for d in docs)
    articles = sum(len(d.articles()) for d in docs)
    repealed = sum(1 for d in docs if d.repealed_by)
    summary = (
        f"collection {args.collection}: {len(docs)} documents ({', '.join(f'{k} {v}' for k, v in sorted(by_status.items()))}"
        f"{f'; {repealed} of them repealed by a later instrument' if repealed else ''}), "
        f"{units} units ({articles} articles), {len(result.failed)} failed files, {elapsed:.1f}s"
    )
    print(summary, file=sys.stderr if args.json else sys.stdout)
    for report in result.failed:
        print(f"FAILED  {report.path}: {report.error}", file=sys.stderr)
    return EXIT_FAILURES if result.failed else EXIT_OK


def _index_config(args: argparse.Namespace):
    from indexer.store import IndexConfig

    return IndexConfig(
        model_path=args.model or config.model_override(),
        precision=args.precision,
        faiss_kind=args.faiss,
        dense=not args.bm25_only,
    )


def _print_build(report, as_json: bool) -> None:
    if as_json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
        return
    secs = ", ".join(f"{k} {v:.1f}s" for k, v in report.seconds.items())
    print(
        f"index {report.index_dir}: {report.documents} documents, {report.units} units, {report.passages} passages; "
        f"embedded {report.embedded}, from cache {report.cached}; faiss {report.faiss_kind or '-'}; "
        f"model {report.model or '-'} ({report.precision or '-'}); {secs}"
    )
    for warning in report.warnings:
        print(f"warning: {warning}")


def cmd_index(args: argparse.Namespace) -> int:
    """Parse the collection (cached) and build its index atomically; unchanged text is not re-embedded."""
    from assistant.pipeline import default_index_dir
    from corpus.catalog import load_collection
    from indexer.store import build_index

    progress = _progress_enabled(args)
    result = load_collection(args.collection, progress=progress)
    for report in result.failed:
        print(f"FAILED  {report.path}: {report.error}", file=sys.stderr)
    if not result.documents:
        print(f"error: collection {args.collection!r} has no documents", file=sys.stderr)
        return EXIT_FAILURES
    index_dir = Path(args.index_dir) if args.index_dir else default_index_dir(args.collection)
    config = _index_config(args)
    from indexer.backends import apply_backend_options

    config = apply_backend_options(config, index_dir, args.backend, args.milvus_uri)
    first = args.bm25_first and config.dense and config.backend == "faiss"
    report = build_index(result.documents, index_dir, config, progress=progress, vectors_later=first)
    if not first:
        _print_build(report, args.json)
        return EXIT_OK
    from indexer.store import add_vectors

    if not args.json:
        _print_build(report, False)
        print("BM25 index in place (questions are answered by BM25 now); embedding the vectors", file=sys.stderr)
    vectors = add_vectors(index_dir, progress=progress)
    if args.json:
        print(json.dumps({"bm25": report.to_dict(), "vectors": vectors.to_dict()}, ensure_ascii=False, indent=2))
    else:
        _print_build(vectors, False)
    return EXIT_OK


def _hit_lines(hit) -> list[str]:
    badge = "" if hit.status == "current" else f" [{hit.status} {hit.version_date}]"
    if hit.repealed_by:
        badge = f" [已废止 {hit.version_date}: repealed by {hit.repealed_by}]"
    where = f"{hit.source}" + (f" p.{hit.page}" if hit.page else "")
    text = hit.text.replace("\n", " ")
    return [f"{hit.rank:>3}. 《{hit.law}》{hit.article}{badge} ({hit.doc_type}; {hit.origin}; {where})",
            f"     {text[:160]}{'…' if len(text) > 160 else ''}"]


def _format_answer(answer) -> str:
    """The answer as text: 结论 first, 识别的法律问题, the evidence, 背景 apart, then the
    full analysis — or the 未找到相关法律依据 note instead of an analysis."""
    from assistant.export import understanding_text
    from assistant.render import conclusion_text, hits_title

    from assistant.llm_answer import written_lines

    lines = [f"问题: {answer.question}", ""] + written_lines(answer)
    if answer.lookup and answer.lookup.get("messages"):
        lines += [f"条文检索: {m}" for m in answer.lookup["messages"]] + [""]
    if answer.no_legal_basis:
        lines += [answer.no_legal_basis, ""]
    elif answer.analysis.conclusion:
        lines += ["结论 (answer first):"] + [f"  {line}" for line in conclusion_text(answer)] + [""]
    issues = understanding_text(answer)
    if issues:
        lines += ["识别的法律问题 (recognised legal issues):"] + [f"  {line}" for line in issues] + [""]
    if answer.hits or not answer.no_legal_basis:
        lines.append(f"{hits_title(answer)} (ranked {'search results' if answer.no_legal_basis else 'evidence'}):")
    for hit in answer.hits:
        lines += _hit_lines(hit)
    if answer.background:
        lines += ["", "背景 (policy documents and scholarship, not a basis of liability):"]
        for hit in answer.background:
            lines += _hit_lines(hit)
    timings = "timings (ms): " + ", ".join(f"{k} {v:.0f}" for k, v in answer.timings_ms.items())
    retrieval = answer.retrieval or {}
    if retrieval.get("used"):
        reranked = f", reranked by {retrieval['rerank']}" if retrieval.get("rerank") else ", not reranked"
        timings = f"retrieval: {retrieval['used']}{reranked}\n{timings}"
    if answer.no_legal_basis:
        return "\n".join(lines + ["", timings])
    analysis = answer.analysis
    lines += ["", "责任分析 (responsibility analysis):"]
    scenario = analysis.scenario
    lines.append(f"  情形: 主体 {'、'.join(scenario.get('actors', [])) or '—'}; 损害 {'、'.join(scenario.get('harms', [])) or '—'}")
    for party in analysis.parties:
        also = f"（{also_called_text(party)}）" if party.also_called else ""
        lines.append(f"  {SLOT_NAMES['parties']}: {party.party}{also} [{party.role}] {party.liability}: {party.consequence}"
                     f" — 依据 {'、'.join(party.basis)}")
    for name, slots in ((SLOT_NAMES[attr], getattr(analysis, attr)) for attr in LAYER_SLOTS):
        if not slots:
            lines.append(f"  {name}: 无依据")
        for slot in slots:
            label = f"[{slot.label}] " if slot.label else ""
            lines.append(f"  {name}: {label}{slot.statement or '无依据'} — 依据 {'、'.join(slot.basis) or '无'}")
    if not analysis.remedies:
        lines.append(f"  {SLOT_NAMES['remedies']}: 无依据")
    for remedy in analysis.remedies:
        limit = f"（期限：{remedy.time_limit}）" if remedy.time_limit else ""
        lines.append(f"  {SLOT_NAMES['remedies']}: {remedy.remedy}{limit} — 依据 {'、'.join(remedy.basis)}")
    if analysis.removed_references:
        lines.append(f"  已移除无法核实的引用: {'、'.join(analysis.removed_references)}")
    return "\n".join(lines + ["", timings])


def cmd_ask(args: argparse.Namespace) -> int:
    """Answer one question from a built index: cited evidence plus the responsibility analysis."""
    pipeline = _open_pipeline(args)
    if pipeline is None:
        return EXIT_USAGE
    # One question, then exit: nothing just loaded is dropped before the end, so the cyclic
    # collector need not rescan the ~400,000 loaded objects while answering (it did, up to
    # three times, for 0.3–0.5 s of a cold ask). A server must not do this: swapping an
    # index drops its pipeline, and frozen cycles would never be freed.
    gc.freeze()
    filters = {"doc_type": args.doc_type, "region": args.region, "status": args.status, "title": args.title}
    answer = pipeline.ask(args.question, mode=args.mode, k=args.k, filters=filters, llm=_llm_settings(args))
    _note_fallback(answer.retrieval, args.collection)
    if args.json:
        print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=2))
    else:
        print(_format_answer(answer))
    return EXIT_OK


def _note_fallback(retrieval: dict, collection: str) -> None:
    """Say on stderr when the requested retrieval could not run (vectors not built yet)."""
    if retrieval and retrieval.get("used") != retrieval.get("requested"):
        print(f"note: {retrieval['requested']} retrieval is not available for collection {collection!r}: "
              f"{retrieval['reason']}. `fagui index --collection {collection}` (or a running `fagui serve`) "
              "embeds the vectors.", file=sys.stderr)


def _open_pipeline(args: argparse.Namespace):
    """The answer pipeline of a built index, or None after telling the user how to build it."""
    from assistant.pipeline import Pipeline, default_index_dir
    from indexer.store import IndexNotFoundError

    index_dir = Path(args.index_dir) if args.index_dir else default_index_dir(args.collection)
    try:
        pipeline = Pipeline.open(args.collection, index_dir, model_path=args.model)
    except IndexNotFoundError:
        print(
            f"error: no index for collection {args.collection!r} at {index_dir}; "
            f"build it with `fagui index --collection {args.collection}`",
            file=sys.stderr,
        )
        return None
    if args.rerank is not None:
        pipeline.rerank = pipeline.use_rerank(args.rerank)  # --rerank without a reranker: a usage error
    return pipeline


def cmd_eval(args: argparse.Namespace) -> int:
    """Run annotated questions through the real ask pipeline and write metrics and reports."""
    from eval import format_eval, load_questions, run_eval
    from eval.splits import rule_for_file, select

    questions = select(load_questions(Path(args.questions)), args.split, rule_for_file(args.questions))
    if not questions:
        raise UsageError(f"{args.questions}: no questions in the {args.split!r} split")
    llm = _llm_settings(args) if args.llm else None
    if args.llm and llm is None:
        raise UsageError("--llm needs a model server: set FAGUI_LLM_BASE_URL and FAGUI_LLM_MODEL, or give --llm-base-url and --llm-model")
    pipeline = _open_pipeline(args)
    if pipeline is None:
        return EXIT_USAGE
    _note_fallback(pipeline.retrieval_mode(args.mode), args.collection)
    default_name = (f"{Path(args.questions).stem}-{args.collection}-{args.mode}" + ("-llm" if llm is not None else "")
                    + ("" if args.split == "all" else f"-{args.split}"))
    out_dir = Path(args.out) if args.out else Path("eval-runs") / default_name
    result = run_eval(
        pipeline, questions, mode=args.mode, k=args.k, out_dir=out_dir, limit=args.limit,
        progress=_progress_enabled(args), questions_source=str(args.questions), llm=llm, split=args.split,
    )
    print(format_eval(result))
    return EXIT_OK


def cmd_eval_compare(args: argparse.Namespace) -> int:
    """Print metric deltas and the questions that changed between two evaluation runs."""
    from eval import compare_runs, format_compare

    print(format_compare(compare_runs(Path(args.dir_a), Path(args.dir_b)), max_questions=args.max_questions))
    return EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    """Serve the web app; builds the collection's index first on a fresh machine."""
    from assistant.app import serve

    serve(args.collection, host=args.host, port=args.port, auth=args.auth,
          max_upload_mb=args.max_upload_mb, progress=_progress_enabled(args), api_docs=args.api_docs,
          rerank=args.rerank)
    return EXIT_OK


def cmd_train(args: argparse.Namespace) -> int:
    """Fine-tune the embedding model on annotated questions (see eval/train.py, eval/reports/TRAIN.md),
    or with --reranker train the cross-encoder reranker (eval/train_rerank.py, eval/reports/RERANK.md)."""
    if args.reranker:
        return _train_reranker(args)
    from eval.train import TrainSource, default_output_dir, default_sources, source_weight, train_model

    if args.holdout:
        raise UsageError("--holdout is gone: the held-out part of each question file is fixed (eval/splits.py) "
                         "and never trained on; `python -m eval.train --holdout` keeps the old STARD-only run")
    sources = default_sources()
    if args.questions:
        sources = (TrainSource(Path(args.questions), args.collection or "default", source_weight(args.questions)),)
    report = train_model(
        Path(args.out) if args.out else default_output_dir(), sources=sources, issue_map=args.issue_map,
        issue_probes=args.issue_probes,
        epochs=args.epochs, batch_size=args.batch_size, seed=args.seed,
        progress=_progress_enabled(args), base_model=args.model,
    )
    if args.json:
        json.dump(report.to_dict(), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        print(f"trained on {report.train_questions} questions ({report.pairs} pairs, {report.steps} steps, "
              f"{report.seconds['training']:.0f} s) → {report.out_dir}\n"
              f"use it: fagui index --model {report.out_dir}   (or FAGUI_MODEL={report.out_dir})")
    return EXIT_OK


def _train_reranker(args: argparse.Namespace) -> int:
    """`fagui train --reranker`: mine candidates, train, export, write the reranker folder."""
    from eval.train_rerank import DEFAULT_SOURCES, RerankSettings, train_reranker

    sources = DEFAULT_SOURCES
    if args.questions:
        sources = ((Path(args.questions), args.collection or "default"),)
    settings = RerankSettings(epochs=args.epochs, seed=args.seed)
    out = Path(args.out) if args.out else config.fagui_home() / "models" / "reranker"
    report = train_reranker(out, sources, settings, base=args.model, progress=_progress_enabled(args))
    if args.json:
        json.dump(report.to_dict(), sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        print(f"trained the reranker on {report.questions['train']} questions ({report.pairs} pairs, "
              f"{report.seconds['train']:.0f} s) → {out}\nuse it: FAGUI_RERANKER={out}")
    return EXIT_OK


def cmd_bench(args: argparse.Namespace) -> int:
    """Measure latency, cold start, index size, build stages, serve load, FAISS at scale
    (eval/bench.py); `--readme` regenerates the README's performance block from the JSON."""
    from eval.bench import DEFAULT_QUESTIONS, BuildSpec, parse_clients, run_bench

    if args.from_json:
        if not args.readme:
            raise UsageError("--from only regenerates the README block; give --readme README.md too")
        json_path = Path(args.from_json)
        try:
            result = json.loads(json_path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise UsageError(f"{json_path}: not a readable bench.json ({exc})") from None
    else:
        result = run_bench(
            args.collection or ["default"], args.queries or DEFAULT_QUESTIONS, Path(args.out), n=args.n,
            repeat=args.repeat, index_dir=Path(args.index_dir) if args.index_dir else None, cold=not args.no_cold,
            cold_runs=args.cold_runs,
            serve_seconds=args.serve_seconds, clients=parse_clients(args.clients),
            builds=tuple(BuildSpec.parse(b) for b in args.build or []), faiss_n=args.faiss_scale,
            progress=_progress_enabled(args), rerank=args.rerank,
        )
        json_path = Path(args.out) / "bench.json"
        print(f"wrote {json_path} and {Path(args.out) / 'bench.md'}")
    if args.readme:
        from eval.bench_readme import render_readme_section, update_readme

        readme = Path(args.readme)
        source = Path(os.path.relpath(json_path.resolve(), readme.resolve().parent)).as_posix()
        update_readme(readme, render_readme_section(result, source))
        print(f"updated the generated block of {readme} from {source}")
    return EXIT_OK


def _llm_settings(args: argparse.Namespace):
    """`assistant.llm.LLMSettings` from the flags and FAGUI_LLM_* (None: no model configured,
    nothing is called). The API key is read from FAGUI_LLM_API_KEY only, never from a flag
    (a flag would show it in the process list and the shell history)."""
    from assistant.llm import LLMSettings

    return LLMSettings.resolve(base_url=args.llm_base_url, model=args.llm_model, timeout=args.llm_timeout,
                               rewrite=not args.no_rewrite, write=not args.no_llm_answer)


def _add_llm_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("optional local model (OpenAI-compatible server; see README)")
    group.add_argument("--llm-base-url", help="model server, e.g. http://127.0.0.1:8000/v1 (default: $FAGUI_LLM_BASE_URL)")
    group.add_argument("--llm-model", help="model name on that server (default: $FAGUI_LLM_MODEL)")
    group.add_argument("--llm-timeout", type=float, help="seconds of model time per answer (default: $FAGUI_LLM_TIMEOUT or 20)")
    group.add_argument("--no-rewrite", action="store_true", help="do not rewrite the question into legal queries")
    group.add_argument("--no-llm-answer", action="store_true", help="do not have the model write the answer")


def _add_rerank_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rerank", action=argparse.BooleanOptionalAction, default=None,
                        help="reorder the top hits with the cross-encoder reranker (default: on when "
                             "models/reranker/ is installed; FAGUI_RERANKER=off turns it off)")


def _add_index_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--collection", default="default")
    parser.add_argument("--index-dir", help="index directory (default: $FAGUI_HOME/indexes/COLLECTION)")
    parser.add_argument("--model", help="sentence-transformers model folder (default: $FAGUI_MODEL, else the shipped models/embedder/)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fagui", description="法规检索助手 — statute retrieval for digital-government accountability")
    sub = parser.add_subparsers(dest="command", required=True)

    ingest = sub.add_parser("ingest", help="parse files into structured documents; report per file")
    ingest.add_argument("paths", nargs="+", help="files or directories (walked recursively)")
    ingest.add_argument("--collection", help="also add the files to this collection")
    ingest.add_argument("--json", action="store_true", help="machine-readable report")
    ingest.add_argument("--no-ocr", action="store_true", help="do not OCR pages without a text layer")
    ingest.add_argument("--doc-type", choices=DOC_TYPES, help="set the document type of these files "
                        "(instead of inferring it; e.g. 行政法规 for a 条例 whose text does not name 国务院令)")
    ingest.add_argument("--quiet", action="store_true", help="no progress bars")
    ingest.set_defaults(func=cmd_ingest)

    remove = sub.add_parser("remove", help="remove a document from a collection (and its index)")
    remove.add_argument("source_path", help="source path as reported by `fagui collection NAME -v` (e.g. files/x.pdf)")
    remove.add_argument("--collection", required=True)
    remove.add_argument("--quiet", action="store_true")
    remove.set_defaults(func=cmd_remove)

    coll = sub.add_parser("collection", help="parse a collection and print counts")
    coll.add_argument("collection", nargs="?", default="default")
    coll.add_argument("--json", action="store_true")
    coll.add_argument("--verbose", "-v", action="store_true", help="print every file's report")
    coll.add_argument("--no-cache", action="store_true", help="re-parse every file")
    coll.add_argument("--quiet", action="store_true")
    coll.set_defaults(func=cmd_collection)

    index = sub.add_parser("index", help="build (or update) the index of a collection")
    _add_index_options(index)
    index.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "int8", "ov-bf16"],
                       help="embedding precision: fp32 is the exact path; auto = ov-bf16 (OpenVINO) where the CPU "
                            "has native bf16, else int8")
    index.add_argument("--faiss", default="auto", choices=["auto", "flat", "hnsw", "ivf"])
    index.add_argument("--backend", choices=["faiss", "milvus"], default=None,
                       help="where the index lives: FAISS + bm25s files (default), or Milvus (pip install -e '.[milvus]'); "
                            "default: the backend the collection's index was built with")
    index.add_argument("--milvus-uri", default=None, metavar="URI",
                       help="Milvus server (http://host:19530); default: a Milvus Lite database under the index directory")
    index.add_argument("--bm25-only", action="store_true", help="no dense vectors (no model needed)")
    index.add_argument("--bm25-first", action="store_true",
                       help="swap in the BM25 index first (searchable at once), then embed the vectors and swap again")
    index.add_argument("--json", action="store_true")
    index.add_argument("--quiet", action="store_true")
    index.set_defaults(func=cmd_index)

    ask = sub.add_parser("ask", help="answer a question with cited articles and a responsibility analysis")
    ask.add_argument("question")
    _add_index_options(ask)
    ask.add_argument("--mode", default=DEFAULT_MODE, choices=MODES)
    ask.add_argument("--k", type=int, default=10, help="number of ranked search hits")
    ask.add_argument("--doc-type", action="append", help="filter: 法律, 行政法规, … (repeatable)")
    ask.add_argument("--region", help="filter: region contains this (e.g. 广东省)")
    ask.add_argument("--status", action="append", choices=["current", "superseded"], help="filter by version status")
    ask.add_argument("--title", help="filter: title contains this")
    ask.add_argument("--json", action="store_true", help="stable machine-readable output")
    _add_rerank_option(ask)
    _add_llm_options(ask)
    ask.set_defaults(func=cmd_ask)

    ev = sub.add_parser("eval", help="evaluate the ask pipeline on annotated questions (JSONL or CSV)")
    ev.add_argument("questions", help="question file: JSONL as in ../shared/eval, or CSV id,question,gold")
    _add_index_options(ev)
    ev.add_argument("--mode", default=DEFAULT_MODE, choices=MODES)
    ev.add_argument("--k", type=int, default=100, help="ranked hits per question")
    ev.add_argument("--out", help="output directory (default: eval-runs/<questions>-<collection>-<mode>)")
    ev.add_argument("--split", default="all", choices=["all", "train", "heldout"],
                    help="only the training or the held-out part of the file (fixed rule: eval/splits.py)")
    _add_rerank_option(ev)
    ev.add_argument("--limit", type=int, help="only the first N questions")
    ev.add_argument("--llm", action="store_true", help="ask with the configured model: rewriting on, written answers checked")
    _add_llm_options(ev)
    ev.add_argument("--quiet", action="store_true")
    ev.set_defaults(func=cmd_eval)

    cmp = sub.add_parser("eval-compare", help="metric deltas and changed questions between two eval runs")
    cmp.add_argument("dir_a")
    cmp.add_argument("dir_b")
    cmp.add_argument("--max-questions", type=int, default=50)
    cmp.set_defaults(func=cmd_eval_compare)

    srv = sub.add_parser("serve", help="web app: ask, look up, browse sources, manage documents, evaluate")
    srv.add_argument("--collection", default="default")
    srv.add_argument("--host", default="127.0.0.1", help="bind address (other than localhost requires --auth)")
    srv.add_argument("--port", type=int, default=7860)
    srv.add_argument("--auth", help="user:password required from every visitor (default: $FAGUI_AUTH)")
    srv.add_argument("--max-upload-mb", type=float, default=50.0, help="size limit per uploaded file")
    srv.add_argument("--quiet", action="store_true", help="no progress bars in the terminal")
    srv.add_argument("--api-docs", action="store_true", help="also serve /docs, /redoc and /openapi.json")
    _add_rerank_option(srv)
    srv.set_defaults(func=cmd_serve)

    tr = sub.add_parser("train", help="fine-tune the embedding model on annotated questions (default: STARD on national "
                                      "+ the domain sets on default, held-out parts excluded)")
    tr.add_argument("--questions", help="JSONL/CSV with gold articles, asked against --collection (default: STARD on "
                                        "national + the domain sets on default, their held-out parts excluded)")
    tr.add_argument("--out", help="model folder to write (default: $FAGUI_HOME/models/m3e-small-tuned)")
    tr.add_argument("--model", help="base model folder (default: $FAGUI_MODEL or m3e-small)")
    tr.add_argument("--epochs", type=int, default=1)
    tr.add_argument("--batch-size", type=int, default=32)
    tr.add_argument("--holdout", type=float, default=0.0, help=argparse.SUPPRESS)  # gone: the split is fixed (eval/splits.py)
    tr.add_argument("--seed", type=int, default=0)
    tr.add_argument("--reranker", action="store_true",
                    help="train the cross-encoder reranker instead (default data: STARD on national + the domain sets "
                         "on default, held-out parts excluded; --questions with --collection for your own)")
    tr.add_argument("--collection", help="with --questions: the collection those questions are asked against (default: default)")
    tr.add_argument("--issue-map", action="store_true",
                    help="also train on pseudo-questions written from the issue map's cues for each of its provisions "
                         "(eval/train.py issue_map_pairs; measured in eval/reports/EMBEDDER-MAP.md)")
    tr.add_argument("--issue-probes", action="store_true",
                    help="also train on the issue map's tuning probe questions, each with a provision of its issue "
                         "(eval/train.py issue_probe_pairs; measured in eval/reports/EMBEDDER-PROBES.md)")
    tr.add_argument("--json", action="store_true")
    tr.add_argument("--quiet", action="store_true")
    tr.set_defaults(func=cmd_train)

    bench = sub.add_parser("bench", help="measure warm latency, cold start, index size (see eval/bench.py)")
    bench.add_argument("--collection", action="append", help="collection to measure (repeatable; default: default)")
    bench.add_argument("--index-dir", help="index directory (only with one --collection)")
    bench.add_argument("--queries", help="question file (default: ../shared/eval/stard/stard_train.jsonl)")
    bench.add_argument("--out", default="bench-runs/latest", help="output directory for bench.json and bench.md")
    bench.add_argument("--n", type=int, default=200, help="first N questions")
    bench.add_argument("--repeat", type=int, default=3, help="passes; the median of the passes is reported")
    bench.add_argument("--no-cold", action="store_true", help="skip the cold-start subprocess")
    bench.add_argument("--cold-runs", type=int, default=3, help="fresh `fagui ask` processes per collection (the median is reported)")
    bench.add_argument("--serve-seconds", type=float, default=0.0,
                       help="also load-test `fagui serve` on 127.0.0.1 for this many seconds per concurrency level")
    bench.add_argument("--clients", default="1,4,16", help="client threads per serve load level (comma-separated)")
    bench.add_argument("--build", action="append", metavar="PRECISION[:MAX_UNITS]",
                       help="also time a from-scratch index build per stage (repeatable: --build fp32:8000 --build auto)")
    bench.add_argument("--readme", metavar="README.md", help="rewrite the README's generated performance block from the results")
    bench.add_argument("--from", dest="from_json", metavar="bench.json", help="with --readme: use a saved run instead of measuring")
    bench.add_argument("--faiss-scale", type=int, default=0, metavar="N", help="also compare FAISS kinds on N synthetic 512-d vectors")
    _add_rerank_option(bench)
    bench.add_argument("--quiet", action="store_true")
    bench.set_defaults(func=cmd_bench)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (UsageError, OSError, IngestError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except Exception as exc:  # noqa: BLE001 - the edge: user-facing errors become messages, the rest internal errors
        from indexer.store import IndexStoreError  # indexer loads only for commands that need it

        if isinstance(exc, IndexStoreError):
            print(f"error: {exc}", file=sys.stderr)
            return EXIT_USAGE
        traceback.print_exc()
        print(f"internal error (a bug in fagui, not in your input): {type(exc).__name__}: {exc}", file=sys.stderr)
        return EXIT_FAILURES


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
