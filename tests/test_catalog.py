"""Collections, format sniffing, the parse cache and the `fagui ingest` command on real files."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assistant.cli import main
from corpus import catalog
from corpus.ingest import ingest_files, iter_files, sniff_format
from corpus.records import IngestError

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
DSL_MD = REPO / "data/lawrefbook/行政法/数据安全法(2021-06-10).md"
POLICY = REPO / "data/policy/云南省数字政府建设总体方案.txt"


@pytest.fixture()
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("FAGUI_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def test_sniff_by_content_not_name(tmp_path):
    fake_pdf = tmp_path / "report.pdf"
    fake_pdf.write_text("<html>not a pdf</html>", encoding="utf-8")
    with pytest.raises(IngestError, match="not a PDF"):
        sniff_format(fake_pdf)
    real = tmp_path / "law.txt"
    shutil.copy(SHARED / "pdfs/01_law_data_security_law_2021.pdf", real)
    assert sniff_format(real) == "pdf"
    empty = tmp_path / "empty.docx"
    empty.write_bytes(b"")
    with pytest.raises(IngestError, match="empty"):
        sniff_format(empty)
    doc = tmp_path / "old.doc"
    doc.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100)
    with pytest.raises(IngestError, match="legacy Word"):
        sniff_format(doc)


def test_iter_files_skips_indexes_and_sidecars(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "_index.md").write_text("---\n", encoding="utf-8")
    (tmp_path / "a" / "x.meta.json").write_text("{}", encoding="utf-8")
    (tmp_path / "a" / "law.md").write_text("# t\n", encoding="utf-8")
    assert [p.name for p in iter_files([tmp_path])] == ["law.md"]


def test_batch_goes_on_after_a_bad_file(tmp_path):
    broken = tmp_path / "broken.pdf"
    broken.write_bytes((SHARED / "pdfs/01_law_data_security_law_2021.pdf").read_bytes()[:4000])
    result = ingest_files([broken, DSL_MD])
    assert [r.ok for r in result.reports] == [False, True]
    assert "broken.pdf" in result.reports[0].path and result.reports[0].error
    assert result.documents[0].title == "中华人民共和国数据安全法"


def test_default_collection_contains_required_titles(home):
    spec = catalog.load_spec("default")
    files = catalog.shipped_files(spec)
    names = " ".join(p.name for p in files)
    for title in ["数据安全法", "个人信息保护法", "网络安全法", "国家赔偿法", "行政诉讼法", "上海市数据条例", "深圳经济特区数据条例"]:
        assert title in names, title
    assert any(p.suffix == ".pdf" for p in files)
    assert not any(p.name == "_index.md" for p in files)


def test_default_holds_every_national_document_and_the_selected_local_ones(home):
    """Issue 13: default = national + DLC regulations chosen by the spec's title rule."""
    default = catalog.shipped_files(catalog.load_spec("default"))
    national = set(catalog.shipped_files(catalog.load_spec("national")))
    assert national <= set(default)
    names = " ".join(p.name for p in default)
    for title in ["社会救助暂行办法", "道路交通安全违法行为处理程序规定", "不动产登记暂行条例", "保障中小企业款项支付条例",
                  "治安管理处罚法", "企业信息公示暂行条例", "市场主体登记管理条例", "潍坊市12345政务服务便民热线条例",
                  "上海市浦东新区城市管理领域非现场执法规定", "山东省社会信用条例", "浙江省数字经济促进条例"]:
        assert title in names, title
    local = [p for p in default if "/DLC/" in p.as_posix()]
    rule = catalog.load_spec("default").select[0]
    assert local and all(rule.admits(p) for p in local)
    # a local regulation on another subject is left out, although data/ could hold it
    assert not rule.admits(Path("广东省大气污染防治条例(2022-11-30).md"))
    assert catalog.title_of_file(Path("上海市数据条例(2021-11-25).md")) == "上海市数据条例"


def test_a_select_rule_without_keywords_is_refused(tmp_path, monkeypatch):
    (tmp_path / "bad.json").write_text(json.dumps({"include": ["x/*.md"], "select": [{"glob": "x/**"}]}))
    monkeypatch.setenv("FAGUI_COLLECTIONS", str(tmp_path))
    with pytest.raises(ValueError, match="title_keywords"):
        catalog.load_spec("bad")


def test_national_excludes_local_regulations(home):
    files = catalog.shipped_files(catalog.load_spec("national"))
    assert len(files) > 1500
    assert not any("/DLC/" in p.as_posix() for p in files)


def test_parse_cache_reuses_unchanged_files(home, tmp_path, monkeypatch):
    calls = []
    import corpus.catalog as cat

    real_read = cat.read_document

    def counting(path, root=None, **kw):
        calls.append(Path(path).name)
        return real_read(path, root, **kw)

    monkeypatch.setattr(cat, "read_document", counting)
    cache = cat.ParseCache(tmp_path / "cache", "v1")
    reader = cat.cached_reader(REPO / "data", cache)
    first = reader(DSL_MD)
    second = reader(DSL_MD)
    assert calls == [DSL_MD.name]
    assert first.to_dict() == second.to_dict()
    assert cat.ParseCache(tmp_path / "cache", "v2").get("x", "y") is None


def test_user_collection_add_and_remove(home, tmp_path):
    stored = catalog.add_files("mine", [POLICY])
    assert stored[0].parent == catalog.load_spec("mine").user_files_dir
    docs = catalog.load_collection("mine").documents
    assert len(docs) == 1 and docs[0].source_path == f"files/{POLICY.name}"
    assert catalog.remove_document("mine", docs[0].source_path)
    assert catalog.load_collection("mine").documents == []


def test_sanitize_filename_blocks_traversal():
    assert catalog.sanitize_filename("../../etc/passwd") == "passwd"
    assert catalog.sanitize_filename("..\\..\\x.pdf") == "x.pdf"
    assert "/" not in catalog.sanitize_filename("a/b<script>.pdf")
    with pytest.raises(ValueError):
        catalog.check_name("../x")


def test_cli_ingest_json_reports_each_file(tmp_path, capsys):
    bad = tmp_path / "bad.pdf"
    bad.write_bytes(b"%PDF-1.4\n%garbage")
    code = main(["ingest", str(DSL_MD), str(bad), "--json", "--quiet"])
    out = json.loads(capsys.readouterr().out)
    assert code == 1  # one file failed, and says so
    ok, failed = out
    assert ok["ok"] and ok["doc_type"] == "法律" and ok["units"] >= 55
    assert not failed["ok"] and failed["path"].endswith("bad.pdf") and failed["error"]


def test_cli_ingest_text_walks_directory(tmp_path, capsys):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(DSL_MD, folder / DSL_MD.name)
    shutil.copy(POLICY, folder / POLICY.name)
    assert main(["ingest", str(folder), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "中华人民共和国数据安全法" in text and "云南省数字政府建设总体方案" in text


def test_default_collection_metadata_end_to_end(home):
    """The shipped collection, parsed as users get it: types, regions, versions, duplicates."""
    result = catalog.load_collection("default")
    assert not result.failed, [(r.path, r.error) for r in result.failed]
    docs = result.documents
    by_source = {d.source_path: d for d in docs}
    dsl = by_source["lawrefbook/行政法/数据安全法(2021-06-10).md"]
    assert (dsl.doc_type, dsl.status, dsl.issuer) == ("法律", "current", "全国人民代表大会常务委员会")
    assert by_source["lawrefbook/行政法规/网络数据安全管理条例(2024-09-24).md"].doc_type == "行政法规"
    assert by_source["lawrefbook/诉讼与非诉讼程序法/行政复议法(2017-09-01).md"].status == "superseded"
    shenzhen = next(d for d in docs if d.title == "深圳经济特区数据条例")
    assert (shenzhen.doc_type, shenzhen.region) == ("地方性法规", "广东省深圳市")
    # The same law arriving as PDF and as Markdown is one version: the PDF is a duplicate.
    for pdf_name in ["01_law_data_security_law_2021.pdf", "04_law_civil_code_2020.pdf", "06_law_administrative_litigation_law_2017.pdf"]:
        pdf = by_source[f"pdfs/{pdf_name}"]
        assert pdf.status == "duplicate", pdf_name
        kept = next(d for d in docs if d.doc_id == pdf.duplicate_of)
        assert kept.source_format == "markdown" and kept.title == pdf.title
    assert by_source["pdfs/07_law_national_development_planning_law_2026_flk.pdf"].status == "current"
    types = {d.doc_type for d in docs}
    assert {"法律", "行政法规", "司法解释", "地方性法规", "规范性文件", "规划", "学术文献"} <= types
    current_titles = [d.title for d in docs if d.status == "current"]
    assert len(current_titles) == len(set(current_titles)), "two current versions of one title"


def test_bad_pdfs_each_report_and_the_batch_goes_on(tmp_path, capsys):
    """Scanned (OCR), garbled, encrypted, corrupt and empty PDFs in one directory batch."""
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures"))
    import make_pdf_fixtures as fx

    folder = tmp_path / "batch"
    folder.mkdir()
    fx.make_truncated(folder)
    fx.make_encrypted(folder)
    fx.make_blank(folder)
    fx.make_cid_garbage(folder)
    fx.make_scanned(folder)
    (folder / "zero.pdf").write_bytes(b"")
    shutil.copy(DSL_MD, folder / "z_good.md")
    code = main(["ingest", str(folder), "--json", "--quiet"])
    reports = {Path(r["path"]).name: r for r in json.loads(capsys.readouterr().out)}
    assert code == 1
    assert len(reports) == 7
    failed = {name: r["error"] for name, r in reports.items() if not r["ok"]}
    assert len(failed) == 4, failed
    for name, error in failed.items():
        assert error, name
    joined = " ".join(failed.values()).lower()
    for word in ("encrypt", "corrupt", "empty"):
        assert word in joined, (word, failed)
    # a (cid:NNN) text layer is OCRed instead of refused (issue 11), and the report says so
    assert any("(cid:NNN) garbage" in w and "OCR used instead" in w for w in reports["cid_garbage.pdf"]["warnings"])
    scanned = [r for name, r in reports.items() if r["ok"] and r["units"] and name not in ("z_good.md", "cid_garbage.pdf")]
    assert len(scanned) == 1 and any("ocr" in w.lower() for w in scanned[0]["warnings"])
    assert reports["z_good.md"]["ok"] and reports["z_good.md"]["units"] >= 55
