"""Human-readable evaluation report: report.md, report.html and PNG plots.

Plots use matplotlib's object API on an Agg canvas (no pyplot, no global backend
switch, works headless). Every piece of question text is HTML-escaped in both reports:
questions come from annotators' files and end up in a browser.
"""
from __future__ import annotations

import html
from pathlib import Path
from typing import Any, Sequence

from eval import retrieval
from eval.llm_checks import llm_section

RECALL_PLOT, KIND_PLOT, SCORE_PLOT = "recall_at_k.png", "per_kind.png", "score_distribution.png"
KIND_BAR_METRICS = ("recall@10", "mrr@10", "ndcg@10", "success@10")
#: The by-kind table of the issue-12 targets: retrieval next to the analysis checks.
KIND_TABLE = ("recall@10", "mrr@10", "liable_party_coverage", "party_row_precision", "citation_validity")
MD_MISS_ROWS = 100  # report.md lists at most this many questions with misses; all are in per_question.jsonl


def _figure(width: float = 6.4, height: float = 4.0):
    # matplotlib takes ~0.8 s to import: only when a report is drawn
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _no_data(ax, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes)
    ax.set_axis_off()


def plot_recall_curve(path: Path, curve: dict[str, float]) -> None:
    fig = _figure()
    ax = fig.add_subplot()
    if curve:
        ks = sorted(int(k) for k in curve)
        ax.plot(ks, [curve[str(k)] for k in ks], marker="o")
        ax.set_xscale("log")
        ax.set_xticks(ks, [str(k) for k in ks])
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("k")
        ax.set_ylabel("recall@k (mean over questions)")
        ax.grid(True, alpha=0.3)
    else:
        _no_data(ax, "no question with resolved gold")
    ax.set_title("Recall@k")
    fig.tight_layout()
    fig.savefig(path)


def plot_per_kind(path: Path, by_kind: dict[str, dict[str, Any]]) -> None:
    fig = _figure(max(6.4, 1.6 * len(by_kind) + 2), 4.0)
    ax = fig.add_subplot()
    kinds = [kind for kind, info in by_kind.items() if info.get("evaluated")]
    if kinds:
        width = 0.8 / len(KIND_BAR_METRICS)
        for i, name in enumerate(KIND_BAR_METRICS):
            xs = [j + (i - (len(KIND_BAR_METRICS) - 1) / 2) * width for j in range(len(kinds))]
            ax.bar(xs, [by_kind[kind].get(name) or 0.0 for kind in kinds], width, label=name)
        ax.set_xticks(range(len(kinds)), [f"{kind}\n(n={by_kind[kind]['evaluated']})" for kind in kinds])
        ax.set_ylim(0, 1.05)
        ax.legend(fontsize="small", ncols=len(KIND_BAR_METRICS), loc="upper center", bbox_to_anchor=(0.5, -0.15))
        ax.grid(True, axis="y", alpha=0.3)
    else:
        _no_data(ax, "no question with resolved gold")
    ax.set_title("Metrics per question kind")
    fig.tight_layout()
    fig.savefig(path)


def plot_scores(path: Path, results: Sequence[Any], score_key: str) -> None:
    """Histogram of the ranking score of retrieved gold units vs other retrieved units."""
    gold_scores, other_scores = [], []
    for r in results:
        gold = set(r.gold_ranks)
        for hit in r.retrieved:
            if hit.score is not None:
                (gold_scores if hit.unit_id in gold else other_scores).append(hit.score)
    fig = _figure()
    ax = fig.add_subplot()
    if gold_scores or other_scores:
        ax.hist([other_scores, gold_scores], bins=30, label=[f"other hits (n={len(other_scores)})",
                                                           f"gold hits (n={len(gold_scores)})"],
                density=True, histtype="stepfilled", alpha=0.5)
        ax.set_xlabel(f"score ({score_key})")
        ax.set_ylabel("density")
        ax.legend(fontsize="small")
    else:
        _no_data(ax, f"hits carry no {score_key!r} score")
    ax.set_title("Score distribution of retrieved units")
    fig.tight_layout()
    fig.savefig(path)


# ------------------------------------------------------------------ tables (shared by md and html)

def _num(value: Any, digits: int = 3) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _sections(metrics: dict[str, Any], results: Sequence[Any]) -> list[tuple[str, list[str], list[list[str]], str]]:
    """(title, header, rows, note) for every table; rows are plain (unescaped) text."""
    cfg, counts = metrics["config"], metrics["counts"]
    fingerprint = metrics.get("pipeline") or {}
    run_rows = [
        ["collection", str(cfg["collection"])], ["mode", cfg["mode"]], ["k", str(cfg["k"])],
        ["questions", f"{counts['questions']} ({counts['evaluated']} with resolved gold)"],
        ["questions file", cfg.get("questions_source") or "—"],
        ["date", metrics["date"]], ["git commit", metrics["git_commit"] or "—"],
    ] + [[f"pipeline.{key}", str(value)] for key, value in fingerprint.items()]
    sections = [("Run", ["", ""], run_rows, "")]

    names = list(retrieval.MEASURES)
    sections.append(("Retrieval metrics", ["metric", "value"],
                     [[n, _num(metrics["retrieval"].get(n))] for n in names],
                     "Over gold unit ids (ir_measures / pytrec_eval); mrr@10 = RR@10, success@10 = any gold in top 10."))
    sections.append(("Per kind", ["kind", "questions", "evaluated"] + names,
                     [[kind, str(info["questions"]), str(info["evaluated"])] + [_num(info.get(n)) for n in names]
                      for kind, info in metrics["by_kind"].items()], ""))
    sections.append(("Per kind: retrieval and analysis", ["kind", "questions", *KIND_TABLE, "questions with party rows"],
                     [[kind, str(info["questions"])] + [_num(info.get(n)) for n in KIND_TABLE]
                      + [_num(info.get("questions_with_rows"))] for kind, info in metrics["by_kind"].items()],
                     "party_row_precision = share of the analysis's party rows whose basis is a gold article, "
                     "averaged over the questions with at least one row."))
    cit, par, lat = metrics["citations"], metrics["liable_parties"], metrics["latency"]
    rows = metrics.get("party_rows") or {}
    sections.append(("Analysis", ["check", "value", "detail"], [
        ["citation validity", _num(cit["validity"]),
         f"{cit['valid']}/{cit['checked']} cited articles resolve; {cit['non_article']} non-article refs not checked"],
        ["liable-party coverage", _num(par["coverage"]),
         f"{par['covered']}/{par['parties']} gold parties in {par['questions']} questions; macro {_num(par['coverage_macro'])}"],
        ["party-row precision", _num(rows.get("precision")),
         f"mean over {rows.get('questions_with_rows', 0)} questions with party rows; "
         f"{rows.get('correct', 0)}/{rows.get('rows', 0)} rows rest on a gold article (micro {_num(rows.get('precision_micro'))})"],
        ["latency p50 / p95 / mean (ms)", f"{_num(lat['p50_ms'], 1)} / {_num(lat['p95_ms'], 1)} / {_num(lat['mean_ms'], 1)}",
         f"max {_num(lat['max_ms'], 1)} ms"],
    ], ""))
    understanding = metrics.get("understanding") or {}
    if understanding:
        sections.append(("Issue map (question understanding)", ["issue", "questions", "recall@10", "question ids"], [
            [issue_id, str(v["questions"]), _num(v["recall@10"]), ", ".join(v["ids"])]
            for issue_id, v in understanding["by_issue"].items()
        ], f"map {'used' if understanding['used'] else 'not used'}"
           f"{', sha256 ' + understanding['sha256'] if understanding['sha256'] else ''}; issues recognised in "
           f"{understanding['questions_with_issues']}/{understanding['questions_understood']} questions; "
           f"without legal content: {', '.join(understanding['not_legal']) or 'none'}; "
           f"answered without analysis (未找到相关法律依据): {', '.join(understanding.get('not_analysed', [])) or 'none'}."))
    if metrics.get("llm"):
        sections.append(llm_section(metrics["llm"]))
    sections.append(("Unresolved gold articles", ["question", "gold article"],
                     [[u["id"], u["ref"]] for u in metrics["unresolved_gold"]],
                     "Gold articles that do not exist in the collection: not in the qrels, so not scored."))
    if cit["invalid_refs"]:
        sections.append(("Citations that do not resolve", ["question", "refs"],
                         [[r.id, "; ".join(r.citations["invalid"])] for r in results if r.citations["invalid"]], ""))
    if metrics["errors"]:
        sections.append(("Errors", ["question", "error"], [[e["id"], e["error"]] for e in metrics["errors"]], ""))
    return sections


def _miss_rows(results: Sequence[Any]) -> list[list[str]]:
    rows = []
    for r in results:
        if r.metrics is None or not r.misses:
            continue
        ranks = ", ".join(f"{_ref_of(r, uid)}→{rank if rank is not None else '✗'}" for uid, rank in r.gold_ranks.items())
        rows.append([r.id, r.kind or "", r.question, ranks, _num(r.metrics.get("recall@10"))])
    return rows


def _ref_of(result: Any, unit_id: str) -> str:
    for g in result.gold:
        if g["unit_id"] == unit_id:
            return g["law"] + g["article"]
    return unit_id


# ------------------------------------------------------------------ markdown

def _md_cell(text: str) -> str:
    return html.escape(text).replace("|", "\\|").replace("\n", " ")


def _md_table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(_md_cell(h) for h in header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def render_markdown(metrics: dict[str, Any], results: Sequence[Any], plots: Sequence[str]) -> str:
    out = [f"# Evaluation report — {_md_cell(str(metrics['config']['collection']))} / {metrics['config']['mode']}", ""]
    for title, header, rows, note in _sections(metrics, results):
        out += [f"## {title}", ""]
        out += [_md_table(header, rows) if rows else "none", ""]
        if note:
            out += [f"_{_md_cell(note)}_", ""]
    out += ["## Plots", ""] + [f"![{name}]({name})" for name in plots] + [""]
    misses = _miss_rows(results)
    out += ["## Questions with missed gold", ""]
    if misses:
        out += [_md_table(["id", "kind", "question", "gold → rank", "recall@10"], misses[:MD_MISS_ROWS]), ""]
        if len(misses) > MD_MISS_ROWS:
            out += [f"… {len(misses) - MD_MISS_ROWS} more in per_question.jsonl", ""]
    else:
        out += ["none", ""]
    return "\n".join(out)


# ------------------------------------------------------------------ html

def _html_table(header: list[str], rows: list[list[str]], css: str = "") -> str:
    esc = html.escape
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{esc(c)}</td>" for c in row) + "</tr>" for row in rows)
    attr = f' class="{esc(css)}"' if css else ""
    return f"<table{attr}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


_CSS = """body{font-family:sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}
table{border-collapse:collapse;margin:0.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f3f3f3}img{max-width:100%;margin:0.5em 0}.note{color:#555;font-style:italic}"""


def render_html(metrics: dict[str, Any], results: Sequence[Any], plots: Sequence[str]) -> str:
    esc = html.escape
    title = f"Evaluation report — {metrics['config']['collection']} / {metrics['config']['mode']}"
    parts = [f"<!DOCTYPE html><html lang=\"zh\"><head><meta charset=\"utf-8\"><title>{esc(title)}</title>"
             f"<style>{_CSS}</style></head><body><h1>{esc(title)}</h1>"]
    for section, header, rows, note in _sections(metrics, results):
        parts.append(f"<h2>{esc(section)}</h2>")
        parts.append(_html_table(header, rows) if rows else "<p>none</p>")
        if note:
            parts.append(f"<p class=\"note\">{esc(note)}</p>")
    parts.append("<h2>Plots</h2>")
    parts += [f"<img src=\"{esc(name)}\" alt=\"{esc(name)}\">" for name in plots]
    parts.append("<h2>Questions</h2>")
    rows = []
    for r in results:
        ranks = ", ".join(f"{_ref_of(r, uid)}→{rank if rank is not None else '✗'}" for uid, rank in r.gold_ranks.items())
        m = r.metrics or {}
        rows.append([r.id, r.kind, r.question, ranks or "—", _num(m.get("recall@10")), _num(m.get("mrr@10")),
                     "; ".join(r.unresolved_gold), r.error])
    parts.append(_html_table(["id", "kind", "question", "gold → rank", "recall@10", "mrr@10", "unresolved gold", "error"], rows))
    parts.append("</body></html>\n")
    return "\n".join(parts)


#: The report's tables the app's evaluation tab shows (titles of `_sections`).
SUMMARY_SECTIONS = ("Retrieval metrics", "Per kind: retrieval and analysis", "Analysis")


def summary_html(metrics: dict[str, Any], results: Sequence[Any]) -> str:
    """The main tables of report.html as an HTML fragment (retrieval metrics, per kind,
    analysis checks), so the app shows the report's own numbers rather than a second
    formatting of them; the first table has class `metrics`."""
    esc = html.escape
    parts = []
    for title, header, rows, note in _sections(metrics, results):
        if title not in SUMMARY_SECTIONS:
            continue
        css = "" if parts else "metrics"
        parts.append(f"<h4>{esc(title)}</h4>")
        parts.append(_html_table(header, rows, css=css))
        if note:
            parts.append(f"<p class=\"note muted\">{esc(note)}</p>")
    return "".join(parts)


def write_reports(out_dir: Path, metrics: dict[str, Any], results: Sequence[Any]) -> list[str]:
    """Write the plots, report.md and report.html into `out_dir`; return the file names."""
    plot_recall_curve(out_dir / RECALL_PLOT, metrics["recall_curve"])
    plot_per_kind(out_dir / KIND_PLOT, metrics["by_kind"])
    plot_scores(out_dir / SCORE_PLOT, results, metrics["config"]["score_key"])
    plots = [RECALL_PLOT, KIND_PLOT, SCORE_PLOT]
    (out_dir / "report.md").write_text(render_markdown(metrics, results, plots), encoding="utf-8")
    (out_dir / "report.html").write_text(render_html(metrics, results, plots), encoding="utf-8")
    return ["report.md", "report.html", *plots]
