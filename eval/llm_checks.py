"""What `fagui eval --llm` adds to the metrics: how the optional model steps went.

The retrieval and analysis metrics of an `--llm` run are the ordinary ones (computed
from the same qrels/run files), with the rewritten queries fused into retrieval. This
module summarises the model's own part from the answers (`Answer.retrieval["rewrites"]`,
`Answer.written`, see `assistant.llm_answer`):

* rewriting: questions that got rewrites, and the notes of those that did not;
* written answers: how many the model wrote, how many were shown, and the share of the
  written ones whose citations all verified (no reference had to be removed) — the
  figure issue 17 asks for — with the removed references per question.
"""
from __future__ import annotations

from typing import Any, Mapping

from assistant.llm import LLMSettings
from assistant.llm_answer import all_verified
from assistant.records import Answer


def summarise_llm(settings: LLMSettings, answers: Mapping[str, Answer]) -> dict[str, Any]:
    """`metrics["llm"]` of an evaluation run from its answers (question id → Answer)."""
    rewrites = {qid: (a.retrieval or {}).get("rewrites") for qid, a in answers.items()}
    asked = {qid: r for qid, r in rewrites.items() if r is not None}
    written = {qid: a.written for qid, a in answers.items() if a.written}
    by_model = {qid: w for qid, w in written.items() if w.get("raw_chars")}  # the model did return a text
    verified = sorted(qid for qid, w in by_model.items() if all_verified(w))
    notes: dict[str, int] = {}
    for r in asked.values():
        if not r["queries"] and r.get("note"):
            notes[r["note"]] = notes.get(r["note"], 0) + 1
    fallbacks: dict[str, int] = {}
    for w in written.values():
        if w.get("fallback"):
            fallbacks[w["fallback"]] = fallbacks.get(w["fallback"], 0) + 1
    return {
        "settings": settings.describe(),
        "questions": len(answers),
        "rewriting": {
            "asked": len(asked),
            "with_rewrites": sum(1 for r in asked.values() if r["queries"]),
            "queries": sum(len(r["queries"]) for r in asked.values()),
            "failures": notes,
        },
        "written": {
            "asked": len(written),
            "by_model": len(by_model),
            "shown": sum(1 for w in written.values() if w.get("text")),
            "all_citations_verified": len(verified),
            "all_citations_verified_share": len(verified) / len(by_model) if by_model else None,
            "fallbacks": fallbacks,
            "removed_references": {qid: w["removed"] for qid, w in sorted(written.items()) if w.get("removed")},
        },
    }


def format_llm(summary: Mapping[str, Any]) -> str:
    """One terminal line for `format_eval`."""
    rw, wr = summary["rewriting"], summary["written"]
    share = wr["all_citations_verified_share"]
    share_text = "—" if share is None else f"{share:.3f}"
    return (f"model {summary['settings']['model']}: rewrites for {rw['with_rewrites']}/{rw['asked']} questions "
            f"({rw['queries']} queries); written answers {wr['by_model']}/{wr['asked']} by the model, "
            f"{wr['shown']} shown, all citations verified in {wr['all_citations_verified']} "
            f"(share {share_text}); fallbacks {sum(wr['fallbacks'].values())}")


def llm_section(summary: Mapping[str, Any]) -> tuple[str, list[str], list[list[str]], str]:
    """The report table (`eval.report` section) of an `--llm` run."""
    rw, wr = summary["rewriting"], summary["written"]
    share = wr["all_citations_verified_share"]
    rows = [
        ["model", summary["settings"]["model"], f"{summary['settings']['base_url']}, {summary['settings']['timeout_s']} s per answer"],
        ["questions with rewrites", f"{rw['with_rewrites']}/{rw['asked']}",
         f"{rw['queries']} queries; failures: " + ("; ".join(f"{n}× {note}" for note, n in rw["failures"].items()) or "none")],
        ["written answers by the model", f"{wr['by_model']}/{wr['asked']}", f"{wr['shown']} shown after the citation check"],
        ["all citations verified", "—" if share is None else f"{share:.3f}",
         f"{wr['all_citations_verified']}/{wr['by_model']} written answers needed no removal"],
    ]
    rows += [[f"removed in {qid}", str(len(refs)), "、".join(refs)] for qid, refs in wr["removed_references"].items()]
    rows += [["fallback", str(n), note] for note, n in wr["fallbacks"].items()]
    return ("Optional model (fagui eval --llm)", ["check", "value", "detail"], rows,
            "Retrieval metrics above are with the rewritten queries fused in; the written answers are checked "
            "reference by reference against the articles the model was given.")
