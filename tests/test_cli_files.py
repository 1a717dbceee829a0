"""`fagui` driven through its CLI on real files, the way issue 11 found the failures:
an absurd article number answered like any missing article (F4); long file names keep
their extension and stay distinct (F6); a .txt starting with `# title` is plain text (F7); DOCX bombs are refused fast (F3)."""
from __future__ import annotations

import json
import struct
import time
import zipfile
from pathlib import Path

import pytest

from assistant.cli import main
from corpus.catalog import add_files, load_collection, load_spec, user_files

REPO = Path(__file__).resolve().parents[1]
LAW = REPO / "data/lawrefbook/行政法/数据安全法(2021-06-10).md"


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("FAGUI_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("CI", "true")
    return tmp_path / "home"


@pytest.fixture
def bm25_collection(home):
    """A real law in a collection with a BM25-only index (no model needed)."""
    add_files("mini", [LAW])
    assert main(["index", "--collection", "mini", "--bm25-only", "--quiet"]) == 0
    return "mini"


@pytest.mark.parametrize("question", ["数据安全法第九九九九九九九九九九九九九九九九九九条", "数据安全法第一百万条"])
def test_ask_beyond_any_article_number_says_how_many_articles(bm25_collection, question, capsys):
    assert main(["ask", question, "--collection", bm25_collection, "--mode", "bm25"]) == 0
    out = capsys.readouterr().out
    assert "没有第" in out and "该法共55条（第一条至第五十五条）" in out, out


def test_long_file_names_keep_their_extension_and_stay_distinct(home, tmp_path, capsys):
    prefix = "Provisions-on-sharing-and-protecting-government-data-" * 4  # 212 characters
    paths = []
    for tail, body in (("甲", "各单位应当登记共享目录。"), ("乙", "各单位应当每年开展安全评估。")):
        path = tmp_path / f"{prefix}{tail}.md"
        path.write_text(f"# 政务数据{tail}规定\n\n第一条 {body}\n\n第二条 违反第一条的，依法处理。\n", encoding="utf-8")
        paths.append(path)
    assert main(["ingest", *map(str, paths), "--collection", "long", "--quiet"]) == 0
    stored = user_files(load_spec("long"))
    assert len(stored) == 2 and all(p.suffix == ".md" and len(p.name.encode()) <= 180 for p in stored), stored
    result = load_collection("long")  # what the next index build reads
    assert not result.failed, result.failed
    assert sorted(d.title for d in result.documents) == ["政务数据乙规定", "政务数据甲规定"]


def test_a_markdown_suffix_is_read_as_markdown(tmp_path, capsys):
    """Uploads accept .markdown; the Markdown reader used to refuse all but .md."""
    path = tmp_path / "测试办法.markdown"
    path.write_text("# 测试办法\n\n第一条 测试单位应当登记。\n\n第二条 违反第一条的，依法处理。\n", encoding="utf-8")
    assert main(["ingest", str(path), "--json", "--quiet"]) == 0
    (report,) = json.loads(capsys.readouterr().out)
    assert report["ok"] and report["title"] == "测试办法" and report["units"] == 2, report


def test_a_txt_starting_with_a_hash_title_is_plain_text(tmp_path, capsys):
    path = tmp_path / "机房管理须知.txt"
    path.write_text("# 机房管理须知\n\n一、进入机房应当登记。\n\n二、离开机房应当关闭设备。\n", encoding="utf-8")
    assert main(["ingest", str(path), "--json", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "not a LawRefBook document" not in out
    (report,) = json.loads(out)
    assert report["ok"] and report["title"] == "机房管理须知" and report["units"] == 2, report


def docx_with_body(path: Path, body_xml: str, extra_member: tuple[str, bytes] | None = None) -> Path:
    """A real python-docx document whose body gets `body_xml` prepended (and one more member)."""
    import docx

    template = docx.Document()
    template.add_paragraph("测试文档")
    template.save(path)
    with zipfile.ZipFile(path) as archive:
        members = {info.filename: archive.read(info.filename) for info in archive.infolist()}
    xml = members["word/document.xml"].decode("utf-8")
    at = xml.index("<w:body>") + len("<w:body>")
    members["word/document.xml"] = (xml[:at] + body_xml + xml[at:]).encode("utf-8")
    if extra_member:
        members[extra_member[0]] = extra_member[1]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def declare_uncompressed_size(path: Path, member: str, size: int) -> None:
    """Rewrite the central-directory entry of `member` to declare `size` unpacked bytes."""
    data = bytearray(path.read_bytes())
    entry = data.index(b"PK\x01\x02")  # first central-directory entry; walk to ours
    while True:
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", data, entry + 28)
        if data[entry + 46: entry + 46 + name_len].decode() == member:
            struct.pack_into("<I", data, entry + 24, size)
            break
        entry += 46 + name_len + extra_len + comment_len
    path.write_bytes(bytes(data))


def ingest_report(path: Path, capsys) -> tuple[dict, float]:
    started = time.perf_counter()
    main(["ingest", str(path), "--json", "--quiet"])
    took = time.perf_counter() - started
    (report,) = json.loads(capsys.readouterr().out)
    return report, took


def test_docx_with_100000_empty_paragraphs_is_refused_fast(tmp_path, capsys):
    bomb = docx_with_body(tmp_path / "bomb.docx", "<w:p/>" * 100_000)
    assert bomb.stat().st_size < 100_000
    report, took = ingest_report(bomb, capsys)
    assert not report["ok"] and "more than 50,000 paragraphs" in report["error"], report
    assert took < 10


def test_docx_member_declaring_2_gib_is_refused_fast(tmp_path, capsys):
    bomb = docx_with_body(tmp_path / "big.docx", "", ("word/media/image1.png", b"\0" * 1024))
    declare_uncompressed_size(bomb, "word/media/image1.png", 2 * 1024**3)
    report, took = ingest_report(bomb, capsys)
    assert not report["ok"] and "image1.png alone 2,048 MB" in report["error"], report
    assert took < 10


def test_docx_with_many_styled_paragraphs_is_read_in_seconds(tmp_path, capsys):
    """Style lookups once per style id: 20,000 paragraphs took minutes before."""
    body = "<w:p><w:r><w:t>工作要求</w:t></w:r></w:p>" + "".join(
        f"<w:p><w:r><w:t>{n}、第{n}项工作要求。</w:t></w:r></w:p>" for n in range(1, 20_001))
    report, took = ingest_report(docx_with_body(tmp_path / "long.docx", body), capsys)
    assert report["ok"] and report["units"] >= 999, report  # 1、 … 999、 are section headings
    assert took < 30


UNIVERSITY_RULES = ("# 某大学本科生学籍管理条例\n\n第一条 为规范学籍管理，制定本条例。\n\n"
                    "第二条 学生泄露他人个人信息的，学校给予纪律处分，并由其承担赔偿责任。\n")
LIABILITY_QUESTION = "学生泄露他人个人信息，谁承担赔偿责任？"


def ask_json(collection: str, capsys) -> dict:
    assert main(["index", "--collection", collection, "--bm25-only", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["ask", LIABILITY_QUESTION, "--collection", collection, "--mode", "bm25", "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_a_statute_without_enactment_evidence_is_unconfirmed_and_not_binding(home, tmp_path, capsys):
    """A university's 条例 is not 行政法规: 效力待确认, and the analysis grounds no party on it."""
    path = tmp_path / "本科生学籍管理条例.txt"
    path.write_text(UNIVERSITY_RULES, encoding="utf-8")
    assert main(["ingest", str(path), "--json", "--quiet", "--collection", "uni"]) == 0
    (report,) = json.loads(capsys.readouterr().out)
    assert report["doc_type"] == "效力待确认", report
    answer = ask_json("uni", capsys)
    assert answer["analysis"]["parties"] == [] and "责任主体" in answer["analysis"]["no_basis"]


def test_doc_type_set_by_the_user_survives_the_index_build(home, tmp_path, capsys):
    path = tmp_path / "本科生学籍管理条例.txt"
    path.write_text(UNIVERSITY_RULES, encoding="utf-8")
    assert main(["ingest", str(path), "--quiet", "--collection", "rules", "--doc-type", "部门规章"]) == 0
    (doc,) = load_collection("rules").documents
    assert doc.doc_type == "部门规章" and any("set by the user" in w for w in doc.warnings)
    answer = ask_json("rules", capsys)
    assert any("某大学本科生学籍管理条例第二条" in p["basis"] for p in answer["analysis"]["parties"]), answer["analysis"]
    assert main(["ingest", str(path), "--quiet", "--collection", "rules"]) == 0  # stored again, no type given
    (doc,) = load_collection("rules").documents
    assert doc.doc_type == "效力待确认"


DATA_SECURITY_PDF = REPO.parent / "shared" / "pdfs" / "01_law_data_security_law_2021.pdf"


def test_ingest_reports_a_copy_of_a_law_already_held_as_its_duplicate(home, capsys):
    """`fagui ingest` printed every good file as `current`: the grouping's status was thrown
    away. A PDF of 数据安全法 beside its Markdown is the Markdown's duplicate — within the
    batch, and among the collection's documents when it joins one."""
    assert main(["ingest", str(LAW), str(DATA_SECURITY_PDF), "--json", "--quiet"]) == 0
    markdown, pdf = json.loads(capsys.readouterr().out)
    assert (markdown["status"], pdf["status"], pdf["duplicate_of"]) == ("current", "duplicate", str(LAW))
    assert main(["ingest", str(LAW), "--quiet", "--collection", "held"]) == 0
    capsys.readouterr()
    assert main(["ingest", str(DATA_SECURITY_PDF), "--json", "--quiet", "--collection", "held"]) == 0
    (report,) = json.loads(capsys.readouterr().out)
    kept = next(d for d in load_collection("held").documents if d.source_format == "markdown")
    assert (report["status"], report["duplicate_of"]) == ("duplicate", kept.source_path)
    assert report["doc_id"] in {d.doc_id for d in load_collection("held").documents}
    assert main(["ingest", str(DATA_SECURITY_PDF), "--quiet", "--collection", "held"]) == 0
    assert f"[duplicate: {kept.source_path} is searched instead]" in capsys.readouterr().out
