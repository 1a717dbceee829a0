"""The optional model steps (issue 17) against a real HTTP server on 127.0.0.1.

`StubServer` (`eval.llm_stub`) is a small OpenAI-compatible `/v1/chat/completions`
endpoint (`http.server` in a thread) that returns scripted completions: invented
article numbers, malformed JSON, slow answers, HTTP 500. The answers come from the real
pipeline on a small real index (数据安全法 + 个人信息保护法, real model), so the
citation check runs against real evidence. Without configuration no socket may be
connected at all (`socket.socket.connect` is made to fail).
"""
from __future__ import annotations

import json
import os
import socket
import time

import pytest

from assistant.llm import LLMSettings
from assistant.llm_answer import check_citations, model_evidence, parse_queries
from assistant.records import Evidence
from assistant.refs import split_ref
from corpus.numerals import parse_article_label
from eval import llm_stub

LAWS = ["行政法/数据安全法(2021-06-10).md", "行政法/个人信息保护法(2021-08-20).md"]
COLLECTION = "llm"
QUESTION = "政府部门把数据交给外包公司处理，结果公司把市民的信息卖了，谁负责？"
GOOD_REWRITE = '```json\n{"queries": ["国家机关委托他人处理个人信息 受托人泄露 法律责任"]}\n```'
# Two real references (both are evidence for QUESTION) and three invented ones: an article
# the law does not have, a law not in the collection, an article number beyond the law.
INVENTED = ("依据《中华人民共和国个人信息保护法》第二十一条，委托方应当与受托人约定处理目的并进行监督。"
            "根据《数据安全法》第九十九条，公司应当赔偿全部损失。依照《网络安全法》第六十四条，还要没收违法所得。"
            "《个人信息保护法》第六十九条规定，处理者不能证明自己没有过错的，应当承担损害赔偿等侵权责任，第八百条另有规定。")


class StubServer(llm_stub.StubServer):
    """`eval.llm_stub.StubServer` with scripts per prompt: a step is `{"content": str}`,
    optionally with `"status"` or `"delay"` (seconds)."""

    def __init__(self, rewrite=(), answer=()):
        super().__init__(llm_stub.scripted([llm_stub.Reply(**step) for step in rewrite],
                                           [llm_stub.Reply(**step) for step in answer]))

    def settings(self, **options) -> LLMSettings:
        return LLMSettings.resolve(base_url=self.url, model="stub-model", environ={}, **options)


@pytest.fixture(scope="module")
def pipeline(indexed_home):
    from assistant.pipeline import Pipeline

    indexed_home(COLLECTION, LAWS)
    return Pipeline.open(COLLECTION)


@pytest.fixture(scope="module")
def baseline(pipeline):
    return pipeline.ask(QUESTION)


# ------------------------------------------------------------------ settings and parsing


def test_settings_are_read_in_one_place_and_nothing_is_configured_by_default():
    assert LLMSettings.resolve(environ={}) is None
    env = {"FAGUI_LLM_BASE_URL": "http://10.0.0.5:11434", "FAGUI_LLM_MODEL": "qwen2.5:7b",
           "FAGUI_LLM_API_KEY": "k", "FAGUI_LLM_TIMEOUT": "7.5"}
    settings = LLMSettings.resolve(environ=env)
    assert settings.endpoint == "http://10.0.0.5:11434/v1/chat/completions"
    assert (settings.model, settings.api_key, settings.timeout) == ("qwen2.5:7b", "k", 7.5)
    assert "k" not in json.dumps(settings.describe())
    flags = LLMSettings.resolve(base_url="http://127.0.0.1:8000/v1/", model="m", timeout=3, rewrite=False, environ=env)
    assert flags.endpoint == "http://127.0.0.1:8000/v1/chat/completions" and flags.timeout == 3 and not flags.rewrite
    with pytest.raises(ValueError, match="FAGUI_LLM_MODEL"):
        LLMSettings.resolve(environ={"FAGUI_LLM_BASE_URL": "http://127.0.0.1:8000"})
    with pytest.raises(ValueError, match="http"):
        LLMSettings.resolve(base_url="127.0.0.1:8000", model="m", environ={})
    with pytest.raises(ValueError, match="FAGUI_LLM_TIMEOUT"):
        LLMSettings.resolve(environ={**env, "FAGUI_LLM_TIMEOUT": "soon"})


def test_rewrite_output_is_parsed_leniently_and_refused_when_malformed():
    assert parse_queries(GOOD_REWRITE, QUESTION) == ["国家机关委托他人处理个人信息 受托人泄露 法律责任"]
    assert parse_queries('好的：["甲", "甲", 3, "乙", "丙", "丁"]', QUESTION) == ["甲", "乙", "丙"]
    assert parse_queries('结果 {"queries": ["甲"]} 说明：{可按需调整}', QUESTION) == ["甲"]
    for bad in ("国家机关 责任", '{"queries": "国家机关"}', '{"queries": [QUESTION]}', '{"queries": []}'):
        with pytest.raises(ValueError):
            parse_queries(bad, QUESTION)
    with pytest.raises(ValueError):
        parse_queries(json.dumps({"queries": [QUESTION]}, ensure_ascii=False), QUESTION)


def test_citation_check_keeps_evidence_references_only(pipeline, baseline):
    evidence = model_evidence(baseline, pipeline.analysis_evidence(baseline.hits), pipeline.resolve_ref)
    refs = {e.ref for e in evidence}
    assert {"中华人民共和国个人信息保护法第二十一条", "中华人民共和国个人信息保护法第六十九条"} <= refs
    checked = check_citations(INVENTED, evidence, pipeline.lookup)
    assert checked.verified == ["中华人民共和国个人信息保护法第二十一条", "中华人民共和国个人信息保护法第六十九条"]
    assert checked.removed == ["数据安全法第九十九条", "网络安全法第六十四条", "个人信息保护法第八百条"]
    assert "九十九" not in checked.text and "网络安全法" not in checked.text and "八百" not in checked.text
    assert "赔偿全部损失" not in checked.text  # the sentence that rested on the invented article goes with it
    assert "应当承担损害赔偿等侵权责任。" in checked.text
    # Arabic numerals and short names are the same article; a list keeps its verified member
    listed = check_citations("个保法第21条、第八百条和第69条都适用。", evidence, pipeline.lookup)
    assert listed.text == "个保法第21条和第69条都适用。" and listed.removed == ["个保法第八百条"]
    # a model citing exactly what the 结论 cites, in the usual written forms, loses nothing
    cited = list(dict.fromkeys(ref for line in baseline.analysis.conclusion for ref in line.basis))
    forms = []
    for ref in cited:
        law, article = split_ref(ref)
        short = law.replace("中华人民共和国", "")
        forms += [f"《{law}》{article}", f"《{short}》{article}", f"{short}第{parse_article_label(article)[0]}条"]
    faithful = check_citations("".join(f"依照{form}，有关主体应当承担相应责任。" for form in forms), evidence, pipeline.lookup)
    assert len(cited) >= 3 and faithful.removed == [] and faithful.verified == cited
    # a judicial interpretation's title holds a law's title: nested 《》 are read as 〈〉
    interpretation = Evidence(unit_id="x", doc_id="x", law="最高人民法院关于适用《中华人民共和国行政诉讼法》的解释",
                              article="第二十条", text="…", doc_type="司法解释", status="current")
    for form in ("《最高人民法院关于适用《中华人民共和国行政诉讼法》的解释》第二十条",
                 "《最高人民法院关于适用〈行政诉讼法〉的解释》第20条"):
        nested = check_citations(f"依照{form}，委托的行政机关是被告。", [interpretation])
        assert nested.verified == [interpretation.ref] and nested.removed == [], form
    # an article of the collection that was not given to the model is not evidence either
    outside = check_citations("依照《中华人民共和国数据安全法》第一条，本法保障数据安全。", evidence, pipeline.lookup)
    assert "中华人民共和国数据安全法第一条" not in refs and outside.text == "" and outside.verified == []


# ------------------------------------------------------------------ the pipeline with a model


def test_written_answer_removes_invented_references_and_sends_only_question_and_articles(pipeline, baseline):
    with StubServer(rewrite=[{"content": GOOD_REWRITE}], answer=[{"content": INVENTED}]) as stub:
        answer = pipeline.ask(QUESTION, llm=stub.settings(api_key="secret-key"))
    written = answer.written
    assert written["removed"] == ["数据安全法第九十九条", "网络安全法第六十四条", "个人信息保护法第八百条"]
    assert written["verified"] == ["中华人民共和国个人信息保护法第二十一条", "中华人民共和国个人信息保护法第六十九条"]
    assert written["text"] and "九十九" not in written["text"] and not written["fallback"]
    assert written["prompt"] == "answer_v1" and written["model"] == "stub-model" and len(written["prompt_sha256"]) == 12
    # the deterministic analysis never takes anything from the model's text
    assert "九十九" not in json.dumps(answer.analysis.to_dict(), ensure_ascii=False) and answer.analysis.conclusion
    # what was sent: the question alone, then the question + verified analysis + article texts
    rewrite_req, answer_req = stub.requests
    assert rewrite_req["path"] == "/v1/chat/completions" and rewrite_req["authorization"] == "Bearer secret-key"
    assert rewrite_req["body"]["messages"][1]["content"] == f"问题：{QUESTION}"
    sent = answer_req["body"]["messages"][1]["content"]
    # the evidence is what the analysis read plus the articles the recognised issues filled
    # into the 结论: Pipeline.ask sends both (for this question the map fills one)
    filled = [item for _, items in pipeline.issue_evidence(answer.understanding) for item in items]
    evidence = model_evidence(answer, pipeline.analysis_evidence(answer.hits) + filled, pipeline.resolve_ref)
    assert sent.startswith(f"问题：{QUESTION}") and all(f"《{e.law}》{e.article}：" in sent for e in evidence)
    assert sent.count("《") == len(evidence)  # no other law is named to the model
    assert os.environ["FAGUI_HOME"] not in sent and ".md" not in sent and ":article:" not in sent  # no paths, no ids
    # the rewrite is recorded with its own ranking (answer.retrieval["rewrites"], --json)
    rewrites = answer.to_dict()["retrieval"]["rewrites"]
    assert rewrites["queries"] == ["国家机关委托他人处理个人信息 受托人泄露 法律责任"] and rewrites["prompt"] == "rewrite_v1"
    assert len(rewrites["rankings"][rewrites["queries"][0]]) == 10


def test_rewritten_query_is_fused_into_retrieval(pipeline, baseline):
    rewrite = "个人信息处理者 自动化决策 透明度 结果公平公正"
    top = pipeline.retrieve(rewrite, k=1, rerank=False)[0][0]  # rewrites are fused unreranked
    assert top not in {h.unit_id for h in baseline.hits if h.origin == "search"}  # precondition: new to the question
    with StubServer(rewrite=[{"content": json.dumps({"queries": [rewrite]}, ensure_ascii=False)}]) as stub:
        answer = pipeline.ask(QUESTION, llm=stub.settings(write=False))
    searched = [h for h in answer.hits if h.origin == "search"]
    assert top in {h.unit_id for h in searched}
    fused = next(h for h in searched if h.unit_id == top)
    assert fused.scores["rewrite"] == 1 and answer.written == {}
    # the question's first hit stays among the ten shown
    before = [h.unit_id for h in baseline.hits if h.origin == "search"]
    assert before[0] in {h.unit_id for h in searched[:10]}


def test_rewrite_fusion_is_weighted_rrf_of_the_two_rankings(pipeline):
    """`Rewrites.fuse` against a slow reference on the real rankings: Σ weight / (RRF_C +
    rank), the question's ranking at weight 1 and the rewrites sharing REWRITE_SHARE, ties
    by unit id. Why this and not a bound on how many of the question's top five stay shown:
    the law-scoped lists and the issue map change the question's ranking from round to
    round, and RRF rightly lets hits both rankings support pass the question's own
    (sessions 18 and 19 each broke such a bound); the weights are what the design promises."""
    from assistant.llm_answer import REWRITE_SHARE, Rewrites
    from indexer.hits import RRF_C

    rewrite = "个人信息处理者 自动化决策 透明度 结果公平公正"
    original = pipeline.retrieve(QUESTION, k=40, understanding=pipeline.understand(QUESTION), rerank=False)
    rewritten = pipeline.retrieve(rewrite, k=40, rerank=False)
    fused = Rewrites(queries=(rewrite,)).fuse(original, {rewrite: rewritten}, k=40)
    reference: dict[str, float] = {}
    for weight, ranking in ((1.0, original), (REWRITE_SHARE, rewritten)):
        for rank, (unit_id, _) in enumerate(ranking, start=1):
            reference[unit_id] = reference.get(unit_id, 0.0) + weight / (RRF_C + rank)
    expected = sorted(reference, key=lambda unit_id: (-reference[unit_id], unit_id))[:40]
    assert [unit_id for unit_id, _ in fused] == expected
    assert fused[0][1]["fused"] == pytest.approx(reference[expected[0]])
    assert {unit_id for unit_id, _ in original} - set(expected) and set(expected) - {u for u, _ in original}  # both contribute


def test_malformed_rewrite_and_server_error_fall_back_with_notes(pipeline, baseline):
    with StubServer(rewrite=[{"content": "queries: 国家机关, 受托人"}], answer=[{"status": 500, "content": "boom"}]) as stub:
        answer = pipeline.ask(QUESTION, llm=stub.settings())
    assert answer.retrieval["rewrites"]["queries"] == [] and "JSON" in answer.retrieval["rewrites"]["note"]
    assert [h.unit_id for h in answer.hits] == [h.unit_id for h in baseline.hits]
    assert answer.written["text"] == "" and "HTTP 500" in answer.written["fallback"]
    assert answer.analysis.to_dict() == baseline.analysis.to_dict()


def test_only_invented_or_too_short_text_shows_the_deterministic_conclusion(pipeline):
    only_invented = "根据《中华人民共和国数据安全法》第九十九条，受托公司应当承担全部责任，政府不承担任何责任。"
    short = "见《中华人民共和国个人信息保护法》第二十一条。"
    with StubServer(answer=[{"content": only_invented}, {"content": short}]) as stub:
        settings = stub.settings(rewrite=False)
        invented = pipeline.ask(QUESTION, llm=settings)
        brief = pipeline.ask(QUESTION, llm=settings)
    assert invented.written["text"] == "" and invented.written["removed"] == ["中华人民共和国数据安全法第九十九条"]
    assert "没有可核验的引用" in invented.written["fallback"]
    assert brief.written["text"] == "" and brief.written["verified"] and "不足" in brief.written["fallback"]
    assert invented.analysis.conclusion  # what is shown instead


def test_slow_server_times_out_within_the_limit_and_unreachable_server_falls_back(pipeline, baseline):
    with StubServer(rewrite=[{"delay": 5, "content": GOOD_REWRITE}], answer=[{"delay": 5, "content": INVENTED}]) as stub:
        started = time.perf_counter()
        answer = pipeline.ask(QUESTION, llm=stub.settings(timeout=1.0))
        elapsed = time.perf_counter() - started
    # one budget for both steps: the rewrite uses it up, the written answer gets none
    assert elapsed < 1.0 + 1.5, elapsed
    assert "1.0 s" in answer.retrieval["rewrites"]["note"] and "no model time left" in answer.written["fallback"]
    assert [h.unit_id for h in answer.hits] == [h.unit_id for h in baseline.hits]
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    down = LLMSettings.resolve(base_url=f"http://127.0.0.1:{port}/v1", model="m", timeout=5, environ={})
    started = time.perf_counter()
    answer = pipeline.ask(QUESTION, llm=down)
    assert time.perf_counter() - started < 5
    assert "not reachable" in answer.retrieval["rewrites"]["note"] and "not reachable" in answer.written["fallback"]


# ------------------------------------------------------------------ no configuration, no network


@pytest.fixture
def no_connect(monkeypatch):
    """Every socket connect fails loudly (and is recorded)."""
    attempts: list = []

    def refuse(self, address, *args):
        attempts.append(address)
        raise OSError(f"test forbids network: connect to {address!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    for name in ("FAGUI_LLM_BASE_URL", "FAGUI_LLM_MODEL", "FAGUI_LLM_API_KEY", "FAGUI_LLM_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)
    return attempts


def test_without_configuration_no_connection_is_made(pipeline, no_connect, capsys):
    from assistant.cli import main

    answer = pipeline.ask(QUESTION)
    assert answer.hits and answer.written == {} and "rewrites" not in answer.retrieval
    assert main(["ask", QUESTION, "--collection", COLLECTION, "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["written"] == {} and "rewrites" not in printed["retrieval"] and printed["hits"]
    assert no_connect == []
    # control: the same guard does catch a configured model's connection
    settings = LLMSettings.resolve(base_url="http://127.0.0.1:9/v1", model="m", timeout=3, environ={})
    answer = pipeline.ask(QUESTION, llm=settings)
    assert no_connect and "test forbids network" in answer.written["fallback"]


# ------------------------------------------------------------------ CLI, eval, app


def test_fagui_ask_prints_the_written_answer_and_the_removed_references(pipeline, capsys):
    from assistant.cli import main

    with StubServer(rewrite=[{"content": GOOD_REWRITE}] * 2, answer=[{"content": INVENTED}] * 2) as stub:
        args = ["ask", QUESTION, "--collection", COLLECTION, "--llm-base-url", stub.url, "--llm-model", "stub-model"]
        assert main(args) == 0
        text = capsys.readouterr().out
        assert main(args + ["--json"]) == 0
        printed = json.loads(capsys.readouterr().out)
    assert "检索改写：国家机关委托他人处理个人信息" in text
    assert "模型撰写的回答" in text and "已删除无法核实的引用：数据安全法第九十九条、网络安全法第六十四条" in text
    assert text.index("模型撰写的回答") < text.index("结论")
    assert printed["written"]["removed"][0] == "数据安全法第九十九条" and printed["retrieval"]["rewrites"]["queries"]
    with StubServer() as stub:
        assert main(["ask", QUESTION, "--collection", COLLECTION, "--llm-base-url", stub.url]) == 2  # no model named
    assert "FAGUI_LLM_MODEL" in capsys.readouterr().err


def test_fagui_eval_llm_reports_the_share_of_fully_verified_written_answers(pipeline, tmp_path, capsys, monkeypatch):
    from assistant.cli import main

    for name in ("FAGUI_LLM_BASE_URL", "FAGUI_LLM_MODEL"):
        monkeypatch.delenv(name, raising=False)
    questions = tmp_path / "q.jsonl"
    rows = [{"id": "a", "question": QUESTION, "kind": "lay",
             "gold": [{"law": "中华人民共和国个人信息保护法", "article": "第二十一条"}]},
            {"id": "b", "question": "国家机关委托企业维护电子政务系统，企业泄露了政务数据，谁负责？", "kind": "lay",
             "gold": [{"law": "中华人民共和国数据安全法", "article": "第四十条"}]}]
    questions.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    clean = ("国家机关委托他人处理数据的，应当监督受托方，受托方不得泄露数据，这是《中华人民共和国数据安全法》第四十条的要求；"
             "个人信息处理者不能证明没有过错的，依照《中华人民共和国个人信息保护法》第六十九条承担损害赔偿责任。")
    assert main(["eval", str(questions), "--collection", COLLECTION, "--llm", "--quiet", "--k", "10",
                 "--out", str(tmp_path / "none")]) == 2
    assert "--llm needs a model server" in capsys.readouterr().err
    with StubServer(rewrite=[{"content": GOOD_REWRITE}, {"content": "not json"}],
                    answer=[{"content": INVENTED}, {"content": clean}]) as stub:
        code = main(["eval", str(questions), "--collection", COLLECTION, "--llm", "--llm-base-url", stub.url,
                     "--llm-model", "stub-model", "--quiet", "--k", "10", "--out", str(tmp_path / "run")])
    assert code == 0
    out = capsys.readouterr().out
    metrics = json.loads((tmp_path / "run" / "metrics.json").read_text(encoding="utf-8"))
    llm = metrics["llm"]
    assert llm["settings"]["model"] == "stub-model" and llm["questions"] == 2
    assert llm["rewriting"]["with_rewrites"] == 1 and sum(llm["rewriting"]["failures"].values()) == 1
    assert llm["written"]["by_model"] == 2 and llm["written"]["all_citations_verified"] == 1
    assert llm["written"]["all_citations_verified_share"] == 0.5
    assert llm["written"]["removed_references"] == {"a": ["数据安全法第九十九条", "网络安全法第六十四条", "个人信息保护法第八百条"]}
    assert metrics["retrieval"]["recall@10"] is not None and "all citations verified in 1 (share 0.500)" in out
    report = (tmp_path / "run" / "report.md").read_text(encoding="utf-8")
    assert "Optional model (fagui eval --llm)" in report and "removed in a" in report and "| 0.500 |" in report


def test_app_settings_panel_shows_the_written_answer_and_never_blocks(pipeline, monkeypatch):
    from assistant.app import AppConfig, FaguiApp

    for name in ("FAGUI_LLM_BASE_URL", "FAGUI_LLM_MODEL", "FAGUI_LLM_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    app = FaguiApp(AppConfig(collection=COLLECTION, progress=False))
    plain, _, answer = app.ask(QUESTION, COLLECTION)
    assert answer.written == {} and "模型撰写的回答" not in plain
    with StubServer(rewrite=[{"content": GOOD_REWRITE}, {"content": GOOD_REWRITE}],
                    answer=[{"content": INVENTED}, {"delay": 5, "content": INVENTED}]) as stub:
        html, _, answer = app.ask(QUESTION, COLLECTION, "hybrid", 10, None, "", None, stub.url, "stub-model", True, True)
        assert "模型撰写的回答" in html and "已删除无法核实的引用" in html and "数据安全法第九十九条" in html
        assert "检索改写" in html and html.index("模型撰写的回答") < html.index("结论")
        assert all(r["authorization"] is None for r in stub.requests)  # a typed URL never gets the API key
        monkeypatch.setenv("FAGUI_LLM_TIMEOUT", "1")
        started = time.perf_counter()
        html, _, answer = app.ask(QUESTION, COLLECTION, "hybrid", 10, None, "", None, stub.url, "stub-model", False, True)
        assert time.perf_counter() - started < 2.5 and "within 1.0 s" in html
        details = app.details(QUESTION, COLLECTION, 10, stub.url, "stub-model", True)
    assert "检索改写" in details and "改写最佳排名" in details and "国家机关委托他人处理个人信息" in details
    from assistant.export import answer_markdown

    exported = answer_markdown(answer)  # the timed-out answer: the note travels with the export
    assert "## 模型撰写的回答（stub-model，引用均已核验）" in exported and "改为显示确定性结论" in exported
    half = app.ask(QUESTION, COLLECTION, "hybrid", 10, None, "", None, "http://127.0.0.1:9/v1", "", True, True)[0]
    assert "大模型未使用" in half and "FAGUI_LLM_MODEL" in half


def test_the_page_wires_the_settings_panel_over_http(pipeline, live_server, monkeypatch):
    """Through the real page (uvicorn + Gradio's client): the panel's four inputs reach
    the ask and details handlers; a stalled model returns within the limit."""
    from gradio_client import Client

    from assistant.app import AppConfig

    for name in ("FAGUI_LLM_BASE_URL", "FAGUI_LLM_MODEL", "FAGUI_LLM_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FAGUI_LLM_TIMEOUT", "2")
    client = Client(live_server(AppConfig(collection=COLLECTION, progress=False)), verbose=False)
    plain, *_ = client.predict(QUESTION, COLLECTION, "hybrid", 10, [], "", [], api_name="/do_ask")
    assert "责任分析" in plain and "模型撰写的回答" not in plain
    with StubServer(rewrite=[{"content": GOOD_REWRITE}, {"content": GOOD_REWRITE}],
                    answer=[{"delay": 6, "content": INVENTED}]) as stub:
        started = time.perf_counter()
        html, *_ = client.predict(QUESTION, COLLECTION, "hybrid", 10, [], "", [], stub.url, "stub-model", True, True,
                                  api_name="/do_ask")
        assert time.perf_counter() - started < 2 + 3 and "within" in html and "检索改写：国家机关委托" in html
        details = client.predict(QUESTION, COLLECTION, stub.url, "stub-model", True, api_name="/do_details")
    assert "改写最佳排名" in details


def test_stub_measurement_faithful_model_keeps_every_reference_and_shifted_numbers_are_removed(pipeline, tmp_path):
    """`python -m eval.llm_stub`: the written 结论 verifies completely; off-by-one numbers do not."""
    questions = tmp_path / "q.jsonl"
    questions.write_text(json.dumps({"id": "a", "question": QUESTION, "kind": "lay", "gold": [
        {"law": "中华人民共和国个人信息保护法", "article": "第二十一条"}]}, ensure_ascii=False) + "\n", encoding="utf-8")
    results = {}
    for shift in (0, 1):
        out = tmp_path / f"shift{shift}"
        assert llm_stub.main([str(questions), "--collection", COLLECTION, "--out", str(out), "--shift", str(shift)]) == 0
        results[shift] = json.loads((out / "metrics.json").read_text(encoding="utf-8"))["llm"]["written"]
    assert results[0]["all_citations_verified_share"] == 1.0 and results[0]["removed_references"] == {}
    assert results[1]["all_citations_verified_share"] == 0.0 and results[1]["removed_references"]["a"]


def test_page_may_name_only_a_loopback_or_the_configured_model_server(monkeypatch):
    """The settings panel must not turn the server into a relay to any address a visitor types."""
    from assistant.app import FaguiApp

    monkeypatch.delenv("FAGUI_LLM_BASE_URL", raising=False)
    for url in ("http://169.254.169.254/v1", "http://10.0.0.5:8000/v1", "https://example.org/v1", "http://127.0.0.1.evil.test/v1"):
        with pytest.raises(ValueError, match="本机"):
            FaguiApp.llm_settings(url, "m")
    assert FaguiApp.llm_settings("http://127.0.0.1:8000/v1", "m").base_url.startswith("http://127.0.0.1")
    assert FaguiApp.llm_settings("http://localhost:8000/v1", "m") is not None
    monkeypatch.setenv("FAGUI_LLM_BASE_URL", "http://llm.intranet.test:8000/v1")
    monkeypatch.setenv("FAGUI_LLM_MODEL", "m")
    assert FaguiApp.llm_settings("http://llm.intranet.test:8000/v1", "m") is not None
