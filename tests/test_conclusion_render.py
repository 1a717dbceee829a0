"""The answer-first display (issue 12) without a browser: the 结论 block first, then
识别的法律问题, in the app card (escaped), the Markdown / DOCX export and the plain text
of `fagui ask`; the 背景 list apart from the evidence; 未找到相关法律依据 instead of an
analysis."""
from __future__ import annotations

from assistant import render
from assistant.export import answer_markdown, export_answer, understanding_text
from assistant.records import (
    Analysis,
    Answer,
    ConclusionLine,
    Evidence,
    IssueProvision,
    Party,
    RecognisedIssue,
    Understanding,
)

EVIL = '<script>window.__xss=1</script><img src=x onerror="window.__xss=1">'
SCL7 = "中华人民共和国国家赔偿法第七条"
REVIEW20 = "中华人民共和国行政复议法第二十条"


def evidence(law: str, article: str, text: str, doc_type: str = "法律", rank: int = 1) -> Evidence:
    return Evidence(unit_id=f"{law}:{article}", doc_id=law, law=law, article=article, text=text, doc_type=doc_type,
                    status="current", version_date="2021-01-01", source=f"{law}.md", rank=rank)


def make_answer() -> Answer:
    issue = RecognisedIssue(
        issue_id="contractor-data-leak", name="受托企业泄露政务数据" + EVIL, area="数据与个人信息",
        score=3.0, cues=("外包公司", "泄露" + EVIL), act_kinds=("个人信息保护纠纷", "行政赔偿"),
        roles=("行政机关", "受托企业"),
        provisions=(IssueProvision("中华人民共和国数据安全法", "第四十条", "duty"),),
    )
    understanding = Understanding(facts="外包公司泄露", asks=["谁来承担责任？"], intents=["liability", "deadline"],
                                  act_kinds=["个人信息保护纠纷"], issues=[issue], region="浙江省")
    analysis = Analysis(
        scenario={"actors": ["行政机关/委托方"], "harms": ["数据泄露"]},
        conclusion=[
            ConclusionLine("external", "对受害人先担责：委托的行政机关——国家赔偿（为赔偿义务机关）" + EVIL, [SCL7]),
            ConclusionLine("no_basis", "内部责任：无依据（检索到的条文未写明各方之间如何分担或追偿）"),
            ConclusionLine("remedy", "可以申请行政复议：期限 六十日", [REVIEW20], time_limit="六十日"),
        ],
        parties=[Party("委托的行政机关", "行政机关/委托方", "国家赔偿", "为赔偿义务机关", [SCL7])],
    )
    hits = [evidence("中华人民共和国国家赔偿法", "第七条", "委托的行政机关为赔偿义务机关。")]
    background = [evidence("浙江省数字政府建设规划", "一、总体要求", "加快数字政府建设" + EVIL, "规划")]
    return Answer(question="外包公司泄露了信息谁负责？", collection="mini", hits=hits, analysis=analysis,
                  understanding=understanding, background=background)


def resolver(ref: str):
    return {SCL7: "scl:7"}.get(ref)


def test_card_shows_the_conclusion_first_then_the_recognised_issues_escaped():
    html = render.render_analysis(make_answer(), resolver, [])
    assert "<script>" not in html and "<img" not in html and "&lt;script&gt;" in html
    assert html.index("<h4>结论</h4>") < html.index("<h4>识别的法律问题</h4>") < html.index("<h4>责任主体</h4>")
    conclusion = html[html.index('<div class="conclusion">'): html.index('<div class="issues">')]
    assert conclusion.count("<li") == 3
    assert 'data-unit="scl:7"' in conclusion  # a resolvable basis links into the source panel
    assert f'<span class="cite unresolved">{REVIEW20}</span>' in conclusion
    assert 'class="no_basis"' in conclusion and 'class="nobasis"' in conclusion  # the 无依据 layer is marked
    assert '<li class="no_basis"><span class="ckind">内部</span>' in conclusion  # labelled with its layer
    issues = html[html.index('<div class="issues">'):]
    assert "受托企业泄露政务数据&lt;script&gt;" in issues and '<span class="cue">外包公司</span>' in issues
    assert "个人信息保护纠纷" in issues and "数据与个人信息" in issues
    assert "所问：谁担责、期限" in issues and "地区：浙江省" in issues


def test_background_is_a_card_apart_from_the_evidence():
    html = render.render_evidence(make_answer(), [])
    evidence_card, background_card = html.split('<div class="fagui-card background-list">')
    assert "《中华人民共和国国家赔偿法》第七条" in evidence_card and "浙江省数字政府建设规划" not in evidence_card
    assert "背景（1）" in background_card and "浙江省数字政府建设规划" in background_card
    assert "<script>" not in background_card and "无约束力（规划）" in background_card


def test_question_without_legal_content_gets_the_note_instead_of_an_analysis(tmp_path):
    answer = Answer(question="😀😀？？" + EVIL, collection="mini", understanding=Understanding(legal=False),
                    no_legal_basis="未找到相关法律依据。已查找：法律问题图谱……")
    html = render.render_analysis(answer, resolver, [])
    assert "未找到相关法律依据" in html and "<script>" not in html
    assert "责任主体" not in html and "结论</h4>" not in html and "parties" not in html
    md = answer_markdown(answer)
    assert "## 结论\n\n未找到相关法律依据" in md and "## 责任主体" not in md


def test_markdown_docx_and_text_put_the_conclusion_first(tmp_path):
    from docx import Document as WordDocument

    answer = make_answer()
    md = answer_markdown(answer)
    assert md.index("## 结论") < md.index("## 识别的法律问题") < md.index("## 责任主体") < md.index("## 依据条文") < md.index("## 背景")
    assert "| 对外 | 对受害人先担责：委托的行政机关——国家赔偿（为赔偿义务机关）" in md and f"| {SCL7} |" in md
    assert "| 内部 | 内部责任：无依据" in md
    assert "命中线索：外包公司、泄露" in md
    _, docx_path = export_answer(answer, tmp_path)
    word = WordDocument(str(docx_path))
    headings = [p.text for p in word.paragraphs if p.style.name.startswith("Heading")]
    assert headings.index("结论") < headings.index("识别的法律问题") < headings.index("责任主体")
    cells = [c.text for t in word.tables for row in t.rows for c in row.cells]
    assert "可以申请行政复议：期限 六十日" in cells and REVIEW20 in cells
    text = render.conclusion_text(answer)
    assert text[0].startswith("[对外] 对受害人先担责") and text[0].endswith(f"— 依据 {SCL7}")
    assert text[1] == "[内部] 内部责任：无依据（检索到的条文未写明各方之间如何分担或追偿）"
    issues = understanding_text(answer)
    assert issues[0].startswith("受托企业泄露政务数据") and "案由：个人信息保护纠纷、行政赔偿" in issues[0]
    assert issues[-1] == "所问：谁担责、期限；案由：个人信息保护纠纷；地区：浙江省"


def test_ask_text_output_puts_the_conclusion_first():
    from assistant.cli import _format_answer

    text = _format_answer(make_answer())
    order = ["结论 (answer first):", "[对外] 对受害人先担责", "识别的法律问题", "依据条文", "背景 (policy", "责任分析"]
    positions = [text.index(marker) for marker in order]
    assert positions == sorted(positions)
    assert "  [救济] 可以申请行政复议：期限 六十日 — 依据 中华人民共和国行政复议法第二十条" in text
    nothing = Answer(question="😀", collection="mini", understanding=Understanding(legal=False),
                     no_legal_basis="未找到相关法律依据。已查找：……")
    plain = _format_answer(nothing)
    assert "未找到相关法律依据" in plain and "责任分析" not in plain and "结论 (answer first)" not in plain
