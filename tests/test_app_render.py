"""The app's rendering, export, upload checks and auth without a browser or an index:
escaping of hostile text, query-term highlighting, the no-basis marks, Markdown/DOCX
export, PDF region finding, and the safety rules of `fagui serve`."""
from __future__ import annotations

import base64
from pathlib import Path

import pytest

from assistant import render
from assistant.app import BasicAuthMiddleware, check_bind, parse_auth
from assistant.export import answer_markdown, export_answer
from assistant.manage import check_upload
from assistant.records import Analysis, Answer, Designation, Evidence, Party, Remedy, Slot
from corpus.records import Document, IngestError, Unit

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
EVIL = '<script>window.__xss=1</script><img src=x onerror="window.__xss=1">'


def make_answer(text: str = "国家机关委托他人建设、维护电子政务系统，应当经过严格的批准程序。") -> Answer:
    hit = Evidence(
        unit_id="d1:article:39", doc_id="d1", law="中华人民共和国数据安全法", article="第四十条", text=text,
        doc_type="法律", status="current", version_date="2021-06-10", chapter="第五章 政务数据安全与开放",
        source="lawrefbook/数据安全法.md", page=None, rank=1, scores={"bm25": 4.2, "dense": 0.77, "fused": 0.032},
    )
    old = Evidence(
        unit_id="d0:article:9", doc_id="d0", law="中华人民共和国行政复议法", article="第九条", text="六十日内提出行政复议申请",
        doc_type="法律", status="superseded", version_date="2017-09-01", source="x.pdf", page=3, rank=2, origin="history",
    )
    analysis = Analysis(
        scenario={"actors": ["行政机关/委托方"], "harms": ["数据泄露"]},
        parties=[Party("国家机关", "行政机关/委托方", "政务处分", "依法给予处分", ["中华人民共和国数据安全法第四十九条"])],
        external=[Slot("国家赔偿：侵犯合法权益造成损害的，依法赔偿", ["中华人民共和国国家赔偿法第二条"], False)],
        internal=[],
        individual=[Slot(EVIL, ["中华人民共和国数据安全法第四十九条"], False)],
        fault_principle=[Slot()],
        remedies=[Remedy("行政复议", "六十日", ["中华人民共和国行政复议法第二十条"], "可以自知道之日起六十日内提出")],
    )
    return Answer(question="受托企业泄露政务数据" + EVIL, collection="mini", hits=[hit, old], analysis=analysis)


def resolver(ref: str):
    return {"中华人民共和国数据安全法第四十九条": "d1:article:48"}.get(ref)


def test_highlight_marks_terms_and_escapes_everything_else():
    html = render.highlight("受托方<b>泄露</b>政务数据 & 泄露", ["泄露", "政务数据"])
    assert html.count("<mark>泄露</mark>") == 2
    assert "<mark>政务数据</mark>" in html
    assert "&lt;b&gt;" in html and "<b>" not in html and "&amp;" in html
    # A term never matches inside an entity produced by escaping.
    assert render.highlight("a<b", ["lt"]) == "a&lt;b"
    assert render.query_terms(["的", "政务数据", "数据", "政务数据", "x"]) == ["政务数据", "数据"]


def test_analysis_card_escapes_marks_no_basis_and_links_resolvable_refs():
    answer = make_answer()
    html = render.render_analysis(answer, resolver, ["政务数据"])
    assert "<script>" not in html and "<img" not in html
    assert "&lt;script&gt;window.__xss=1&lt;/script&gt;" in html
    # 内部责任 is empty and 归责原则 has an empty slot: both visibly 无依据.
    assert html.count('class="nobasis"') >= 2
    # A resolvable basis becomes a link into the source panel, an unknown one stays text.
    assert 'data-unit="d1:article:48"' in html and f'target="{render.SOURCE_FRAME}"' in html
    assert '<span class="cite unresolved">中华人民共和国国家赔偿法第二条</span>' in html
    assert "六十日" in html  # remedy time limit


def test_evidence_shows_badges_source_page_and_highlight():
    html = render.render_evidence(make_answer(), ["政务"])
    assert "现行有效 · 2021-06-10" in html and "已被修订（旧版本 · 2017-09-01）" in html
    assert "有约束力（法律）" in html and "第五章 政务数据安全与开放" in html
    assert "x.pdf · 第 3 页" in html and "历史版本" in html
    assert "<mark>政务</mark>" in html
    hostile = render.render_evidence(make_answer(text=EVIL), [])
    assert "<script>" not in hostile and "<img" not in hostile and "onerror=&quot;" in hostile


def test_source_page_anchors_target_and_escapes_titles():
    units = [Unit(f"d:article:{i}", "d", "article", text, number=f"第{n}条", path=("第一章 总则",))
             for i, (n, text) in enumerate([("一", "普通条文"), ("二", EVIL + "平台运营者")])]
    doc = Document("d", "恶意<script>alert(1)</script>办法", "部门规章", "files/x.txt", "text", units=units)
    page = render.render_source_page(doc, "d:article:1", "mini", terms=["运营者"])
    assert "<script>alert" not in page and "<img src" not in page
    assert 'class="unit target" id="u-d:article:1"' in page
    assert page.count('<div class="heading">第一章 总则</div>') == 1
    assert "<mark>运营者</mark>" in page


def test_markdown_and_docx_export(tmp_path):
    from docx import Document as WordDocument

    answer = make_answer()
    md = answer_markdown(answer)
    assert "## 责任主体" in md and "| 国家机关 | 行政机关/委托方 | 政务处分 |" in md
    assert "| 内部责任 | 无依据 |" in md and "| 归责原则 | 无依据 |" in md
    assert "《中华人民共和国数据安全法》第四十条" in md and "已被修订（旧版本 2017-09-01）" in md
    md_path, docx_path = export_answer(answer, tmp_path)
    assert md_path.read_text(encoding="utf-8") == md
    word = WordDocument(str(docx_path))
    text = "\n".join(p.text for p in word.paragraphs)
    cells = [c.text for t in word.tables for row in t.rows for c in row.cells]
    assert "责任层次" in text and "《中华人民共和国数据安全法》第四十条" in text
    assert "无依据" in cells and "国家机关" in cells


def test_upload_checks_size_type_and_content(tmp_path):
    pdf = SHARED / "pdfs/07_law_national_development_planning_law_2026_flk.pdf"
    assert check_upload(pdf, "law.pdf", 50 * 1024 * 1024) == "pdf"
    with pytest.raises(IngestError, match="too large"):
        check_upload(pdf, "law.pdf", 1000)
    fake = tmp_path / "fake.pdf"
    fake.write_text("<html>not a pdf</html>", encoding="utf-8")
    with pytest.raises(IngestError, match="not a PDF"):
        check_upload(fake, "fake.pdf", 10**6)
    with pytest.raises(IngestError, match="unsupported file type .exe"):
        check_upload(fake, "tool.exe", 10**6)
    with pytest.raises(IngestError, match="content is pdf"):
        check_upload(pdf, "notes.txt", 50 * 1024 * 1024)


def test_pdf_region_is_found_on_the_page():
    from assistant.pdfpage import render_page, unit_boxes
    from corpus.ingest import read_document

    pdf = SHARED / "pdfs/07_law_national_development_planning_law_2026_flk.pdf"
    doc = read_document(pdf)
    unit = next(u for u in doc.units if u.number == "第二十条")
    boxes = unit_boxes(pdf, unit.page, unit.text, unit.number, first_page=True)
    assert 1 <= len(boxes) <= 6
    other = next(u for u in doc.units if u.number == "第二十一条")
    other_boxes = unit_boxes(pdf, other.page, other.text, other.number, first_page=True)
    assert max(b.bottom for b in boxes) <= min(b.top for b in other_boxes) + 1  # 第二十条 ends before 第二十一条
    png = render_page(pdf, unit.page, boxes)
    assert png.startswith(b"\x89PNG")


def test_auth_rules():
    assert parse_auth("ann:s3cret") == ("ann", "s3cret")
    assert parse_auth("") is None
    with pytest.raises(ValueError):
        parse_auth("no-colon")
    check_bind("127.0.0.1", None)
    with pytest.raises(ValueError, match="--auth"):
        check_bind("0.0.0.0", None)
    check_bind("0.0.0.0", ("ann", "s3cret"))


def test_serve_refuses_a_public_address_without_credentials(monkeypatch, capsys):
    from assistant.cli import main

    monkeypatch.delenv("FAGUI_AUTH", raising=False)
    assert main(["serve", "--host", "0.0.0.0", "--port", "1"]) == 2
    assert "--auth" in capsys.readouterr().err


def test_basic_auth_middleware_guards_every_route():
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    inner = FastAPI()
    inner.get("/fagui/source")(lambda: {"ok": True})
    client = TestClient(BasicAuthMiddleware(inner, "ann", "s3cret"))
    assert client.get("/fagui/source").status_code == 401
    assert client.get("/fagui/source").headers["www-authenticate"].startswith("Basic")
    bad = base64.b64encode(b"ann:wrong").decode()
    assert client.get("/fagui/source", headers={"Authorization": f"Basic {bad}"}).status_code == 401
    good = base64.b64encode(b"ann:s3cret").decode()
    assert client.get("/fagui/source", headers={"Authorization": f"Basic {good}"}).json() == {"ok": True}


def test_a_repealed_text_is_marked_repealed_not_amended_nor_current():
    """A text another instrument repealed (`corpus.versions.apply_repeals`) is `superseded`
    like an old version, but 已被修订 would say a newer text of it exists: it says which
    article repealed it, in the app's badge, the uploaded file's note and the text export."""
    from assistant.export import _status
    from corpus.records import FileReport

    by = "《促进个体工商户发展条例》第三十九条"
    html = render.status_badge("superseded", "2016-02-06", by)
    assert "已废止（《促进个体工商户发展条例》第三十九条废止，2016-02-06版）" in html and "已被修订" not in html
    assert "已被修订" in render.status_badge("superseded", "2016-02-06")
    note = render._version_note(FileReport(path="个体工商户条例.md", ok=True, status="superseded", repealed_by=by))
    assert "已被《促进个体工商户发展条例》第三十九条废止" in note
    assert _status("superseded", "2016-02-06", by) == "已废止（《促进个体工商户发展条例》第三十九条废止，2016-02-06版）"


def test_a_grouped_party_shows_the_other_names_the_statutes_give_it():
    answer = make_answer()
    party = answer.analysis.parties[0]
    party.also_called = [Designation("履行个人信息保护职责的部门<i>", ["中华人民共和国个人信息保护法第六十八条"])]
    html = render.render_analysis(answer, resolver, [])
    assert '<div class="note">条文另称：履行个人信息保护职责的部门&lt;i&gt;（中华人民共和国个人信息保护法第六十八条）</div>' in html
    md = answer_markdown(answer)
    assert "| 国家机关；条文另称：履行个人信息保护职责的部门<i>（中华人民共和国个人信息保护法第六十八条） | 行政机关/委托方 |" in md
