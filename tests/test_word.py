"""DOCX reader: real .docx files built with python-docx from a real law text, and broken files."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import docx
import pytest
from docx.enum.text import WD_ALIGN_PARAGRAPH

from corpus.records import IngestError
from corpus.word import read_docx

SHARED = Path(__file__).resolve().parents[2] / "shared"
LAW_MD = SHARED / "corpus" / "lawrefbook" / "行政法" / "数据安全法(2021-06-10).md"


def _law_docx(path: Path) -> Path:
    """数据安全法 as a Word file: centred title, enactment note, 章 as Heading 1, one paragraph
    per line, and after 第二十一条's first paragraph a 3×3 table whose second row merges two cells."""
    lines = LAW_MD.read_text(encoding="utf-8").splitlines()
    info_end = lines.index("<!-- INFO END -->")
    document = docx.Document()
    title = document.add_paragraph(lines[0].lstrip("# "))
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    for line in lines[1:info_end]:
        if line.strip():
            document.add_paragraph(f"（{line.strip()}）")
    for line in lines[info_end + 1 :]:
        if not line.strip():
            continue
        if line.startswith("#"):
            document.add_heading(line.lstrip("# "), level=1)
            continue
        document.add_paragraph(line)
        if line.startswith("第二十一条"):
            table = document.add_table(rows=3, cols=3)
            for c, text in enumerate(["级别", "说明", "保护方式"]):
                table.cell(0, c).text = text
            table.cell(1, 0).merge(table.cell(1, 1)).text = "国家核心数据"
            table.cell(1, 2).text = "更加严格的管理制度"
            for c, text in enumerate(["重要数据", "重要数据目录", "重点保护"]):
                table.cell(2, c).text = text
    document.save(path)
    return path


@pytest.mark.skipif(not LAW_MD.exists(), reason="lawrefbook not available")
def test_law_docx_gives_55_articles_and_table_rows_in_place(tmp_path):
    doc = read_docx(_law_docx(tmp_path / "数据安全法.docx"))
    assert doc.title == "中华人民共和国数据安全法"
    assert doc.doc_type == "法律" and doc.source_format == "docx"
    assert doc.version_date == "2021-06-10"
    articles = doc.articles()
    assert len(articles) == 55
    assert [a.ordinal for a in articles] == list(range(1, 56))
    assert articles[0].path == ("第一章 总则",)
    art21 = articles[20]
    assert art21.number == "第二十一条"
    paragraphs = art21.text.split("\n")
    # table rows sit between the article's first and second paragraph (body order kept)
    assert paragraphs[1:4] == [
        "级别 | 说明 | 保护方式",
        "国家核心数据 | 更加严格的管理制度",  # merged cell once, not twice
        "重要数据 | 重要数据目录 | 重点保护",
    ]
    assert paragraphs[0].startswith("国家建立数据分类分级保护制度")
    assert "级别 | 说明" not in articles[21].text
    assert doc.units[0].kind == "preamble" and "2021年6月10日" in doc.units[0].text


def test_policy_docx_sections_table_and_title_style(tmp_path):
    document = docx.Document()
    document.add_heading("某省数字政府建设规划", level=0)  # Title style
    document.add_paragraph("为加快建设数字政府，制定本规划。")
    document.add_paragraph("一、总体要求")
    document.add_paragraph("（一）发展目标")
    document.add_paragraph("到2025年，主要指标如下：")
    table = document.add_table(rows=3, cols=3)
    for c, text in enumerate(["类别", "指标", "目标值"]):
        table.cell(0, c).text = text
    table.cell(1, 0).merge(table.cell(2, 0)).text = "政务服务"  # vertical merge
    table.cell(1, 1).text = "一网通办率（%）"
    table.cell(1, 2).text = "100"
    table.cell(2, 1).text = "好差评整改率（%）"
    table.cell(2, 2).text = "95"
    document.add_paragraph("二、保障措施")
    document.add_paragraph("加强组织领导。")
    path = tmp_path / "plan.docx"
    document.save(path)

    doc = read_docx(path)
    assert doc.title == "某省数字政府建设规划" and doc.doc_type == "规划"
    kinds = [(u.kind, u.number) for u in doc.units]
    assert kinds == [("preamble", ""), ("section", "一"), ("section", "（一）"), ("table", ""), ("section", "二")]
    table_unit = doc.units[3]
    assert table_unit.text.split("\n") == [
        "类别 | 指标 | 目标值",
        "政务服务 | 一网通办率（%） | 100",
        "政务服务 | 好差评整改率（%） | 95",  # vertically merged cell repeated per row
    ]
    assert table_unit.path == ("一、总体要求", "（一）发展目标")
    assert "到2025年" in doc.units[2].text


def test_core_properties_title_when_no_title_paragraph(tmp_path):
    document = docx.Document()
    document.core_properties.title = "某市公共数据管理办法"
    document.add_paragraph("一、总则")
    document.add_paragraph("为规范公共数据管理，制定本办法。")
    path = tmp_path / "core.docx"
    document.save(path)
    doc = read_docx(path)
    assert doc.title == "某市公共数据管理办法"
    assert doc.units[0].number == "一"


def _valid_docx_bytes(tmp_path: Path) -> bytes:
    document = docx.Document()
    document.add_paragraph("第一条 测试。")
    document.add_paragraph("第二条 测试。")
    path = tmp_path / "ok.docx"
    document.save(path)
    return path.read_bytes()


def test_truncated_docx(tmp_path):
    data = _valid_docx_bytes(tmp_path)
    path = tmp_path / "truncated.docx"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(IngestError, match="truncated") as info:
        read_docx(path)
    assert info.value.path == str(path)


def test_not_a_zip_with_docx_extension(tmp_path):
    path = tmp_path / "fake.docx"
    path.write_text("这其实是一个纯文本文件", encoding="utf-8")
    with pytest.raises(IngestError, match="not a ZIP package"):
        read_docx(path)


def test_password_protected_ole_file(tmp_path):
    path = tmp_path / "secret.docx"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 1024)
    with pytest.raises(IngestError, match="password-protected"):
        read_docx(path)


def test_zip_without_word_document_and_malformed_xml(tmp_path):
    other = tmp_path / "other.docx"
    with zipfile.ZipFile(other, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(IngestError, match="word/document.xml"):
        read_docx(other)

    data = _valid_docx_bytes(tmp_path)
    broken = tmp_path / "broken.docx"
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(broken, "w") as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "word/document.xml":
                content = content[: len(content) // 2]  # cut the XML in the middle
            target.writestr(item, content)
    with pytest.raises(IngestError, match="malformed XML"):
        read_docx(broken)
