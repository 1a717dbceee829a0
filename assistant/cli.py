"""`fagui` command line: one function per subcommand; errors become messages only here.

Configuration comes from arguments first, then environment variables (FAGUI_HOME,
FAGUI_MODEL, FAGUI_DATA_ROOT), then defaults.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

EXIT_OK, EXIT_FAILURES, EXIT_USAGE = 0, 1, 2


def _progress_enabled(args: argparse.Namespace) -> bool:
    """Bars for humans; off with --quiet and in CI logs (CI=true)."""
    return not getattr(args, "quiet", False) and os.environ.get("CI", "").lower() not in {"1", "true"}


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
        out.write(f"OK      {report.path}\n        {report.doc_type} 《{report.title}》{status}: {report.units} units{pages}\n")
        for warning in report.warnings:
            out.write(f"        warning: {warning}\n")


def cmd_ingest(args: argparse.Namespace) -> int:
    """Parse files (a directory is walked) and report; with --collection, add them to it."""
    from corpus.catalog import add_files, load_collection
    from corpus.ingest import finalize, ingest_files, iter_files

    files = iter_files([Path(p) for p in args.paths])
    missing = [p for p in files if not p.exists()]
    for path in missing:
        print(f"FAILED  {path}: no such file or directory", file=sys.stderr)
    files = [p for p in files if p.exists()]
    result = ingest_files(files, ocr=not args.no_ocr, progress=_progress_enabled(args))
    finalize(result.documents)
    if args.collection:
        good = [Path(r.path) for r in result.reports if r.ok]
        add_files(args.collection, good)
        load_collection(args.collection, progress=_progress_enabled(args))
        if not args.json:
            print(f"added {len(good)} file(s) to collection {args.collection!r}")
    _print_reports(result.reports, args.json)
    return EXIT_FAILURES if (result.failed or missing) else EXIT_OK


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
    summary = (
        f"collection {args.collection}: {len(docs)} documents ({', '.join(f'{k} {v}' for k, v in sorted(by_status.items()))}), "
        f"{units} units ({articles} articles), {len(result.failed)} failed files, {elapsed:.1f}s"
    )
    print(summary, file=sys.stderr if args.json else sys.stdout)
    for report in result.failed:
        print(f"FAILED  {report.path}: {report.error}", file=sys.stderr)
    return EXIT_FAILURES if result.failed else EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="fagui", description="法规检索助手 — statute retrieval for digital-government accountability")
    sub = parser.add_subparsers(dest="command", required=True)

    ingest = sub.add_parser("ingest", help="parse files into structured documents; report per file")
    ingest.add_argument("paths", nargs="+", help="files or directories (walked recursively)")
    ingest.add_argument("--collection", help="also add the files to this collection")
    ingest.add_argument("--json", action="store_true", help="machine-readable report")
    ingest.add_argument("--no-ocr", action="store_true", help="do not OCR pages without a text layer")
    ingest.add_argument("--quiet", action="store_true", help="no progress bars")
    ingest.set_defaults(func=cmd_ingest)

    coll = sub.add_parser("collection", help="parse a collection and print counts")
    coll.add_argument("collection", nargs="?", default="default")
    coll.add_argument("--json", action="store_true")
    coll.add_argument("--verbose", "-v", action="store_true", help="print every file's report")
    coll.add_argument("--no-cache", action="store_true", help="re-parse every file")
    coll.add_argument("--quiet", action="store_true")
    coll.set_defaults(func=cmd_collection)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
