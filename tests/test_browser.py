"""The app in real headless Chromium (Playwright, sync API) against a small real index.

The server runs in a background thread on a free port with a tmp FAGUI_HOME; the
browser is Debian's /usr/bin/chromium (never a downloaded one). Screenshots of the
main views go to test-artifacts/ (gitignored). Skipped when Playwright or Chromium
is missing.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LAWS = ["行政法/数据安全法(2021-06-10).md", "行政法/个人信息保护法(2021-08-20).md", "宪法相关法/国家赔偿法(2012-10-26).md"]
PLANNING_PDF = SHARED / "pdfs/07_law_national_development_planning_law_2026_flk.pdf"
XSS_TEXT = """---
title: 恶意测试<script>window.__xss=1</script>办法
---
第一条 本办法中的云平台运营者<img src=x onerror="window.__xss=1">应当保护政务数据安全。
第二条 云平台运营者泄露政务数据的，依法承担责任<script>window.__xss=2</script>。
"""

sync_api = pytest.importorskip("playwright.sync_api")
pytestmark = pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian chromium at /usr/bin/chromium")


@pytest.fixture(scope="module")
def server(indexed_home, live_server):
    from assistant.app import AppConfig

    indexed_home("mini", LAWS)
    return live_server(AppConfig(collection="mini", progress=False))


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, server):
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1500, "height": 1000}, locale="zh-CN")
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    tab.goto(server)
    tab.wait_for_selector("#fagui-question textarea")
    yield tab
    context.close()


def shot(page, name: str) -> None:
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def ask(page, question: str) -> None:
    page.fill("#fagui-question textarea", question)
    page.click("#fagui-ask")
    page.wait_for_selector("#fagui-analysis .analysis")


def source_frame(page):
    return page.frame(name="fagui-source")


def attach(page, elem_id: str, path: Path) -> None:
    """Put a file into a Gradio file input and wait until its upload is listed."""
    page.set_input_files(f"#{elem_id} input[type=file]", str(path))
    page.wait_for_function("([id, stem]) => document.getElementById(id).innerText.includes(stem)", arg=[elem_id, path.stem])


def upload(page, path: Path) -> str:
    page.get_by_role("tab", name="文档管理").click()
    attach(page, "fagui-upload", path)
    page.click("#fagui-upload-btn")
    page.wait_for_selector("#fagui-upload-status :text('现在即可检索')", timeout=150_000)
    return page.inner_text("#fagui-upload-report")


def test_ask_shows_analysis_with_citations_and_evidence(page):
    ask(page, "国家机关委托企业维护电子政务系统，企业泄露了政务数据，谁负责？")
    citations = page.locator("#fagui-analysis a.cite")
    assert citations.count() >= 1
    assert page.locator("#fagui-analysis table.parties tr").count() >= 2
    evidence = page.inner_text("#fagui-evidence")
    assert "《中华人民共和国数据安全法》第四十条" in evidence and "现行有效" in evidence
    assert page.locator("#fagui-evidence mark").count() >= 1  # query terms highlighted
    shot(page, "01_ask_analysis_evidence.png")
    page.click("#fagui-export")
    page.wait_for_selector("#fagui-export-files [aria-label='fagui-answer.docx']")
    links = {a.get_attribute("download"): a.get_attribute("href") for a in page.locator("#fagui-export-files a[download]").all()}
    assert page.request.get(links["fagui-answer.docx"]).body().startswith(b"PK")  # a real .docx (zip)
    assert "## 责任主体" in page.request.get(links["fagui-answer.md"]).text()


def test_lay_question_shows_the_conclusion_first_and_the_recognised_issues(page):
    """Issue 12: a question in plain words gets the 结论 block (3–6 lines, each citing its
    article or marked 无依据) above everything else, then 识别的法律问题 with the cues
    that matched; the screenshot is for reading the card as a user would."""
    issue_names = [i["name"] for i in json.loads((REPO / "assistant/data/issue_map.json").read_text("utf-8"))["issues"]]
    ask(page, "外包公司给政府做的政务App泄露了我的个人信息，谁来承担责任？最晚什么时候能要求赔偿？")
    page.wait_for_selector("#fagui-analysis .conclusion li")
    lines = page.locator("#fagui-analysis .conclusion li")
    assert 3 <= lines.count() <= 6
    for i in range(lines.count()):
        line = lines.nth(i)
        if line.get_attribute("class") == "no_basis":
            assert "无依据" in line.inner_text() and line.locator(".nobasis").count() == 1
        else:  # every other line links its article into the source panel
            assert line.locator("a.cite").count() >= 1, line.inner_text()
    card = page.inner_text("#fagui-analysis")
    assert card.index("结论") < card.index("识别的法律问题") < card.index("责任主体")
    issues = page.inner_text("#fagui-analysis .issues")
    assert any(name in issues for name in issue_names) and "命中线索" in issues
    assert "外包公司" in page.locator("#fagui-analysis .issues .cue").all_inner_texts()
    # the first conclusion line cites an article that opens in the source view
    page.locator("#fagui-analysis .conclusion a.cite").first.click()
    source_frame(page).wait_for_selector(".unit.target")
    shot(page, "09_conclusion_issues.png")
    page.locator("#fagui-analysis").screenshot(path=str(ARTIFACTS / "09_conclusion_issues_card.png"))


def test_question_without_legal_content_gets_no_analysis(page):
    ask(page, "😀😀😀？？！！")
    page.wait_for_selector("#fagui-analysis .no-legal-basis")
    assert "未找到相关法律依据" in page.inner_text("#fagui-analysis")
    assert page.locator("#fagui-analysis table.parties").count() == 0
    assert page.locator("#fagui-analysis .conclusion").count() == 0


def test_citation_opens_source_view_and_cross_references_navigate(page):
    ask(page, "国家机关委托企业维护电子政务系统，企业泄露了政务数据，谁负责？")
    link = page.locator("#fagui-analysis a.cite").first
    unit = link.get_attribute("data-unit")
    link.click()
    frame = source_frame(page)
    frame.wait_for_selector(".unit.target")
    assert frame.locator(".unit.target").get_attribute("id") == f"u-{unit}"
    assert frame.locator(".unit").count() > 40  # the whole document, not just the article
    shot(page, "02_source_view.png")
    page.get_by_role("tab", name="条文查询").click()
    page.fill("#fagui-lookup-text input, #fagui-lookup-text textarea", "数据安全法第四十五条")
    page.click("#fagui-lookup")
    page.wait_for_selector("#fagui-lookup-result .article")
    xref = page.locator("#fagui-lookup-result .article .text a.xref").first
    target = xref.get_attribute("data-unit")
    xref.click()
    frame.wait_for_selector(f"[id='u-{target}'].target")
    assert "第二十七条" in frame.inner_text(".unit.target")
    # Inside the source view, references navigate in place.
    frame.locator(".links a.xref").first.click()
    frame.wait_for_selector(".unit.target")
    shot(page, "03_lookup_crossref.png")


def test_upload_pdf_then_look_up_its_article_with_page_image(page):
    report = upload(page, PLANNING_PDF)
    assert "已接收" in report and "中华人民共和国国家发展规划法" in report
    shot(page, "04_manage_upload.png")
    page.get_by_role("tab", name="条文查询").click()
    page.fill("#fagui-lookup-text input, #fagui-lookup-text textarea", "国家发展规划法第二十条")
    page.click("#fagui-lookup")
    page.wait_for_selector("#fagui-lookup-result .article")
    assert "国家发展规划经全国人民代表大会审查和批准后公布实施" in page.inner_text("#fagui-lookup-result")
    page.locator("#fagui-lookup-result .article a.cite").first.click()
    frame = source_frame(page)
    frame.wait_for_selector("img.pageimg")
    frame.wait_for_function("() => [...document.images].every(i => i.complete && i.naturalWidth > 400)")
    assert "第二十条" in frame.inner_text(".unit.target")
    shot(page, "05_pdf_source_page_marked.png")


def test_hostile_document_renders_inert(page, tmp_path):
    path = tmp_path / "xss<img>.txt"
    path.write_text(XSS_TEXT, encoding="utf-8")
    report = upload(page, path)
    assert "<script>window.__xss=1</script>" in report  # the title is shown as text
    assert page.evaluate("() => window.__xss") is None
    page.get_by_role("tab", name="问答").click()
    ask(page, "云平台运营者泄露政务数据承担什么责任")
    evidence = page.inner_text("#fagui-evidence")
    assert '<img src=x onerror="window.__xss=1">' in evidence or "<script>window.__xss=2</script>" in evidence
    link = page.locator("#fagui-evidence a.cite", has_text="恶意测试").first
    link.click()
    frame = source_frame(page)
    frame.wait_for_selector(".unit.target")
    assert "<script>window.__xss=1</script>" in frame.inner_text("h1")
    assert page.evaluate("() => window.__xss") is None
    assert frame.evaluate("() => window.__xss") is None
    shot(page, "06_xss_inert.png")


def test_retrieval_details_and_evaluation_views(page, tmp_path):
    page.get_by_role("tab", name="检索详情").click()
    page.fill("#fagui-details-question textarea", "个人信息处理者委托处理个人信息")
    page.click("#fagui-details")
    page.wait_for_selector("#fagui-details-result table.details")
    assert page.locator("#fagui-details-result table.details tbody tr").count() >= 5
    shot(page, "07_retrieval_details.png")
    questions = tmp_path / "questions.jsonl"
    questions.write_text("\n".join(json.dumps(q, ensure_ascii=False) for q in [
        {"id": "q1", "question": "国家机关委托他人维护电子政务系统应当履行什么程序？", "kind": "lookup",
         "gold": [{"law": "中华人民共和国数据安全法", "article": "第四十条"}]},
        {"id": "q2", "question": "国家机关及其工作人员行使职权侵犯人身权，受害人能否取得国家赔偿？", "kind": "who_is_liable",
         "gold": [{"law": "中华人民共和国国家赔偿法", "article": "第三条"}]},
    ]), encoding="utf-8")
    page.get_by_role("tab", name="评估").click()
    attach(page, "fagui-eval-file", questions)
    page.click("#fagui-eval-btn")
    page.wait_for_selector("#fagui-eval-result table.metrics")
    page.wait_for_selector("#fagui-eval-plots img")
    assert "recall@10" in page.inner_text("#fagui-eval-result")
    shot(page, "08_evaluation.png")


def test_login_is_required_when_auth_is_set(browser, server, live_server):
    """With credentials configured every route answers 401 without them, and the page
    works in the browser with them (HTTP Basic covers Gradio's own API calls too)."""
    from assistant.app import AppConfig

    guarded = live_server(AppConfig(collection="mini", progress=False), auth=("ann", "s3cret"))
    anonymous = browser.new_context()
    for route in ("/", "/fagui/source?c=mini&u=", "/gradio_api/info"):
        assert anonymous.request.get(guarded + route).status == 401, route
    anonymous.close()
    context = browser.new_context(http_credentials={"username": "ann", "password": "s3cret"})
    tab = context.new_page()
    tab.set_default_timeout(60_000)
    tab.goto(guarded)
    tab.wait_for_selector("#fagui-question textarea")
    ask(tab, "数据安全法第四十五条")
    assert "第四十五条" in tab.inner_text("#fagui-evidence")
    context.close()
