"""Export an answer (responsibility analysis + cited articles) as Markdown or DOCX.

Both formats are built from the same `export_sections` outline, so the two files say
the same thing: the question, the 结论 block, the recognised legal issues, the parties
table, the four responsibility layers with 无依据 where nothing supports them, remedies
with time limits, every cited article with its version status, source file and page,
and the 背景 list apart. A question without legal content exports its
未找到相关法律依据 note instead of an analysis. `understanding_text` (and
`assistant.render.conclusion_text`) are the same blocks as plain lines (`fagui ask`).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from assistant.llm_answer import written_parts
from assistant.provisions import binding_force
from assistant.records import LAYER_SLOTS, SLOT_NAMES, Answer, also_called_text
from assistant.render import EVIDENCE_TITLE, INTENT_LABELS, ORIGIN_LABELS, SEARCHED_TITLE, conclusion_label, repealed_label

NO_BASIS = "无依据"


@dataclass
class Section:
    """A heading with paragraphs and/or one table (header + rows)."""

    title: str
    paragraphs: list[str] = field(default_factory=list)
    header: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)


def _status(status: str, date: str, repealed_by: str = "") -> str:
    if repealed_by:
        return repealed_label(repealed_by, date)
    if status == "current":
        return f"现行有效（{date}）" if date else "现行有效"
    if status == "superseded":
        return f"已被修订（旧版本 {date}）"
    return status


def understanding_text(answer: Answer) -> list[str]:
    """识别的法律问题 as plain lines: one per issue (area, act kinds, matched cues), then
    what is asked, the act kinds and the place."""
    understanding = answer.understanding
    if understanding is None:
        return []
    lines = [
        f"{issue.name}（{issue.area or '—'}；案由：{'、'.join(issue.act_kinds) or '—'}；命中线索：{'、'.join(issue.cues) or '—'}）"
        for issue in understanding.issues
    ] or ["未识别出法律问题图谱中的问题"]
    asks = "、".join(INTENT_LABELS.get(i, i) for i in understanding.intents) or "—"
    place = f"；地区：{understanding.region}" if understanding.region else ""
    lines.append(f"所问：{asks}；案由：{'、'.join(understanding.act_kinds) or '—'}{place}")
    return lines


def _evidence_paragraph(hit) -> str:
    where = hit.source + (f"，第 {hit.page} 页" if hit.page else "")
    return (
        f"{hit.rank}. 《{hit.law}》{hit.article} — {hit.doc_type}，{binding_force(hit.doc_type)}，"
        f"{_status(hit.status, hit.version_date, hit.repealed_by)}，{ORIGIN_LABELS.get(hit.origin, hit.origin)}；"
        f"{hit.chapter + '；' if hit.chapter else ''}来源 {where}\n{hit.text}"
    )


def _background(answer: Answer) -> list[Section]:
    if not answer.background:
        return []
    return [Section("背景（政策文件与学术文献，不作为责任依据）", [_evidence_paragraph(hit) for hit in answer.background])]


def export_sections(answer: Answer) -> list[Section]:
    analysis = answer.analysis

    sections = [Section("问题", [answer.question, f"文件集：{answer.collection}"])]
    written = [text for kind, text in written_parts(answer) if kind != "heading"]
    if written:  # only when a model server was configured (assistant.llm_answer)
        sections.append(Section(f"模型撰写的回答（{answer.written.get('model', '')}，引用均已核验）" if answer.written
                                else "检索改写", written))
    understanding = Section("识别的法律问题", understanding_text(answer))
    if answer.no_legal_basis:
        searched = [Section(SEARCHED_TITLE, [_evidence_paragraph(hit) for hit in answer.hits])] if answer.hits else []
        return (sections + [Section("结论", [answer.no_legal_basis])] + ([understanding] if understanding.paragraphs else [])
                + searched)
    conclusion = Section("结论", header=["层次", "结论", "依据"])
    conclusion.rows = [[conclusion_label(line), line.text, "、".join(line.basis)] for line in analysis.conclusion]
    sections.append(conclusion)
    if understanding.paragraphs:
        sections.append(understanding)
    scenario = analysis.scenario or {}
    sections.append(Section("情形", [
        f"主体：{'、'.join(scenario.get('actors', [])) or '—'}；损害：{'、'.join(scenario.get('harms', [])) or '—'}"
    ]))
    parties = Section(SLOT_NAMES["parties"], header=["主体", "角色", "责任类型", "后果", "依据"])
    parties.rows = [["；".join(x for x in (p.party, also_called_text(p)) if x), p.role, p.liability, p.consequence,
                     "、".join(p.basis) or NO_BASIS] for p in analysis.parties]
    if not parties.rows:
        parties.paragraphs.append(NO_BASIS)
    sections.append(parties)
    layers = Section("责任层次", header=["层次", "内容", "依据"])
    for attr in LAYER_SLOTS:
        name, slots = SLOT_NAMES[attr], getattr(analysis, attr) or []
        if not slots:
            layers.rows.append([name, NO_BASIS, ""])
        for slot in slots:
            statement = slot.statement if slot.statement and not slot.no_basis else NO_BASIS
            label = f"[{slot.label}] " if slot.label else ""
            layers.rows.append([name, label + statement, "、".join(slot.basis)])
    sections.append(layers)
    remedies = Section(SLOT_NAMES["remedies"], header=["途径", "期限", "依据"])
    remedies.rows = [[r.remedy, r.time_limit or "条文未写明期限", "、".join(r.basis)] for r in analysis.remedies]
    if not remedies.rows:
        remedies.paragraphs.append(NO_BASIS)
    sections.append(remedies)
    if analysis.removed_references:
        sections.append(Section("已移除的引用", ["、".join(analysis.removed_references)]))
    sections.append(Section(EVIDENCE_TITLE, [_evidence_paragraph(hit) for hit in answer.hits]))
    return sections + _background(answer)


def _md_cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def answer_markdown(answer: Answer) -> str:
    """The answer as Markdown (tables for parties, layers and remedies)."""
    lines = ["# 法规检索助手 · 责任分析", ""]
    for section in export_sections(answer):
        lines += [f"## {section.title}", ""]
        for paragraph in section.paragraphs:
            lines += [paragraph.replace("\n", "\n\n> "), ""] if "\n" in paragraph else [paragraph, ""]
        if section.header and section.rows:
            lines.append("| " + " | ".join(section.header) + " |")
            lines.append("|" + "---|" * len(section.header))
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in section.rows]
            lines.append("")
    return "\n".join(lines)


def write_docx(answer: Answer, path: Path) -> Path:
    """The answer as a Word document with real tables (python-docx)."""
    # python-docx (lxml) only when a DOCX is read or written
    from docx import Document as WordDocument

    word = WordDocument()
    word.add_heading("法规检索助手 · 责任分析", level=0)
    for section in export_sections(answer):
        word.add_heading(section.title, level=1)
        for paragraph in section.paragraphs:
            head, _, body = paragraph.partition("\n")
            word.add_paragraph(head)
            if body:
                word.add_paragraph(body, style="Quote")
        if section.header and section.rows:
            table = word.add_table(rows=1, cols=len(section.header))
            table.style = "Table Grid"
            for cell, text in zip(table.rows[0].cells, section.header):
                cell.text = text
            for row in section.rows:
                cells = table.add_row().cells
                for cell, text in zip(cells, row):
                    cell.text = str(text)
    path = Path(path)
    word.save(str(path))
    return path


def export_answer(answer: Answer, out_dir: Path, stem: str = "fagui-answer") -> tuple[Path, Path]:
    """Write `<stem>.md` and `<stem>.docx` into `out_dir`; returns both paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    md_path = out_dir / f"{stem}.md"
    md_path.write_text(answer_markdown(answer), encoding="utf-8")
    return md_path, write_docx(answer, out_dir / f"{stem}.docx")
