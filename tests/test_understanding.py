"""Question understanding (assistant/understanding.py) and the pipeline's use of it.

Pure parts (facts vs asks, intents, region, keyness) are checked on their own; the rest
runs through a real `Pipeline` over a small real index (five real laws and a real
provincial policy document, built with the real model): the 40 nonsense / off-topic
questions of `eval/data/nonsense.jsonl` get no analysis at all, lay questions written
for this test (not taken from any dev set) are recognised with the shipped issue map,
and the map's provisions join the fusion.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.issue_map import load_issue_map
from assistant.pipeline import NO_LEGAL_BASIS, Pipeline
from indexer.segment import Segmenter
from assistant.understanding import (
    LegalVocabulary,
    content_words,
    has_legal_ask,
    intents_of,
    legal_asks,
    legal_points,
    load_legal_asks,
    region_of,
    split_facts_and_asks,
    understand,
    whole_words,
)

REPO = Path(__file__).resolve().parents[1]
NONSENSE = [json.loads(line) for line in (REPO / "eval/data/nonsense.jsonl").read_text(encoding="utf-8").splitlines()]
LAWS = [
    "行政法/数据安全法(2021-06-10).md",
    "行政法/个人信息保护法(2021-08-20).md",
    "宪法相关法/国家赔偿法(2012-10-26).md",
    "诉讼与非诉讼程序法/行政诉讼法(2017-06-27).md",
    "经济法/政府采购法(2014-08-31).md",
    "../policy/山东省数字政府建设实施方案.txt",
]
#: Lay questions written for this test, with the issue of the shipped map each must raise.
LAY = [
    ("我在政务网站上提交的身份证照片被人拿去贷款了，网站是外包公司做的，该找谁？", "contractor-data-leak"),
    ("交警的电子眼拍错了车牌，罚款扣分记在我头上，怎么申请撤销？", "non-site-enforcement"),
    ("政府采购项目评标结果不公平，我们公司想提出质疑，最晚什么时候提？", "procurement-challenge"),
    ("向区政府申请公开拆迁补偿方案，过了一个月都没答复，怎么办？", "gov-info-disclosure"),
    ("健康码突然变红被隔离了一周，后来说是系统弄错了，误工损失找谁赔？", "health-code-error"),
]


def test_nonsense_set_is_forty_varied_questions():
    # 20 short ones (punctuation, emoji, chit-chat), 10 longer ones in another style
    # (a request, a story, a question form legal questions use too: 有什么区别, 是…吗) and
    # 10 everyday how-to questions about things whose words the statutes use too (漏水,
    # 电池, 信用, 记录): the forms people use for legal questions (怎么办, 怎么处理)
    assert len(NONSENSE) == 40 and len({q["question"] for q in NONSENSE}) == 40
    assert len({q["category"] for q in NONSENSE}) >= 25


def _vocabulary(df: dict[str, int], general: dict[str, int], passages: int = 5000) -> LegalVocabulary:
    """A vocabulary over made-up statistics: `df` passages of `passages`, jieba-like counts of 60 million."""
    return LegalVocabulary(document_frequency=lambda w: df.get(w, 0), passages=passages,
                           general_frequency=lambda w: (general.get(w, 0), 60_000_000))


def test_a_legal_ask_about_a_statute_subject_is_legal():
    vocab = _vocabulary({"遗产": 20, "电梯": 6, "扒窃": 1, "电影": 2, "推荐": 30, "好吃": 0},
                        {"遗产": 2995, "电梯": 524, "扒窃": 6, "电影": 4918, "推荐": 3823, "好吃": 2799})
    words = Segmenter().tokenize  # plain jieba
    assert vocab.topical("遗产") and vocab.topical("扒窃") and not vocab.topical("好吃")
    assert has_legal_ask("我可以放弃遗产吗？", words, vocab)          # 许可 + a subject of 继承
    assert has_legal_ask("邻居加装电梯，该怎么办", words, vocab)       # 救济
    assert has_legal_ask("什么是扒窃？", words, vocab)                 # 概念, a word seen once in the statutes
    assert has_legal_ask("是否存在亲吻权、祭奠权？", words, vocab)      # a right asked about is legal alone
    assert not has_legal_ask("红烧肉怎么做才好吃", words, vocab)        # no ask form
    assert not has_legal_ask("什么是好吃", words, vocab)               # ask form, no statute subject
    assert not has_legal_ask("可以推荐几部电影吗", words, vocab)        # a request to the assistant
    assert not has_legal_ask("列表和元组有什么区别", words, vocab)      # 区别 is the ask, not a subject
    assert [f.name for f in legal_asks("一房多租有效吗？")] == ["效力"]


def test_how_to_asks_need_another_party():
    # 怎么办 / 怎么处理 ask about broken appliances as often as about wrongs: with a subject
    # the statutes talk about (漏水, 墙面), they are legal only when someone else is named
    vocab = _vocabulary({"漏水": 3, "墙面": 6, "电梯": 6, "押金": 16, "闯红灯": 5},
                        {"漏水": 71, "墙面": 64, "电梯": 524, "押金": 92, "闯红灯": 20})
    words = Segmenter().tokenize
    assert vocab.topical("漏水") and vocab.topical("墙面")
    assert not has_legal_ask("洗衣机漏水怎么办", words, vocab)
    assert not has_legal_ask("家里墙面发霉怎么处理", words, vocab)
    assert has_legal_ask("楼上漏水到我家了怎么办", words, vocab)          # a neighbour
    assert has_legal_ask("房东不退押金怎么办", words, vocab)              # the other side of a lease
    assert has_legal_ask("墙面被人涂了广告怎么处理", words, vocab)         # someone did it (被…)
    assert has_legal_ask("漏水怎么办", words, vocab, party_named=True)     # the caller recognised an agency or firm
    assert has_legal_ask("我闯红灯会被怎么处理", words, vocab)             # a consequence (后果), no party needed
    assert [f.name for f in legal_asks("洗衣机漏水怎么办")] == []
    assert [f.name for f in legal_asks("邻居家洗衣机漏水怎么办")] == ["求助"]


def test_pieces_of_a_word_are_not_counted_as_words():
    vocab = _vocabulary({"动车": 400, "电动": 30, "电动车": 0, "派出所": 60, "派出": 180},
                        {"动车": 50, "电动": 900, "电动车": 24, "派出所": 500, "派出": 450}, passages=60_000)
    assert whole_words(["电动", "动车", "电动车", "电池"]) == ["电动车", "电池"]
    assert vocab.typical("动车") and not vocab.typical("电动车")
    tokens = Segmenter().tokenize  # search segmentation: 电动车 → 电动 / 动车 / 电动车
    assert "动车" in tokens("电动车电池能用几年")
    assert legal_points("电动车电池能用几年", content_words(tokens("电动车电池能用几年")), vocab) == (0, 0)
    # 派出所 is one typical word (1 point), not also 派出; 拘 (拘留) is a legal verb
    assert legal_points("派出所来电话", content_words(tokens("派出所来电话")), vocab) == (1, 1)
    assert understand("派出所说我打架要拘五天").legal


def test_single_characters_and_article_parts_are_not_typical_words():
    vocab = _vocabulary({"报": 2000, "一款": 250, "罚款": 140}, {"报": 14647, "一款": 295, "罚款": 689}, passages=50_000)
    assert vocab.keyness("报") > 2 and not vocab.typical("报")      # typical only as part of words
    assert vocab.keyness("一款") > 2 and not vocab.typical("一款")  # 第一款 segments as 第 / 一款
    assert vocab.typical("罚款")


def test_a_bad_ask_file_is_refused_with_its_name(tmp_path):
    path = tmp_path / "asks.json"
    parties = '"parties": {"pattern": "邻居", "why": "x"}'
    path.write_text('{"asks": [{"name": "许可", "pattern": "可以(", "why": "x"}], ' + parties + '}', encoding="utf-8")
    with pytest.raises(ValueError, match=r"asks\.json.*许可.*bad pattern"):
        load_legal_asks(path)
    path.write_text('{"asks": [], ' + parties + '}', encoding="utf-8")
    with pytest.raises(ValueError, match="asks.json"):
        load_legal_asks(path)
    path.write_text('{"asks": [{"name": "求助", "pattern": "怎么办", "why": "x", "needs_party": "yes"}], ' + parties + '}',
                    encoding="utf-8")
    with pytest.raises(ValueError, match=r"asks\.json.*求助.*needs_party"):
        load_legal_asks(path)
    path.write_text('{"asks": [{"name": "求助", "pattern": "怎么办", "why": "x"}], "parties": {"pattern": "(", "why": "x"}}',
                    encoding="utf-8")
    with pytest.raises(ValueError, match=r"asks\.json.*parties.*bad pattern"):
        load_legal_asks(path)
    assert all(form.why for form in load_legal_asks())  # the shipped file is valid


def test_facts_are_split_from_several_asks():
    facts, asks = split_facts_and_asks("我的健康码莫名变红，被拦在小区外两天，能找谁赔偿？要我自己证明吗？最晚什么时候要提？")
    assert facts == "我的健康码莫名变红，被拦在小区外两天"
    assert asks == ["能找谁赔偿", "要我自己证明吗", "最晚什么时候要提"]
    assert intents_of(asks, "") == ["compensation", "deadline", "defendant", "burden_of_proof"]
    assert intents_of(["分别承担什么法律责任"], "") == ["liability"]
    assert intents_of(["告谁", "去哪里投诉"], "") == ["remedy_route", "defendant"]
    assert intents_of(["真出了事我个人会不会也被罚"], "") == ["liability"]  # a fine is a liability too
    assert intents_of(["我们局在合同签订前后分别要做什么"], "") == ["duty"]  # an official's obligations
    # how long the other side has (handling) vs the person's own deadline (deadline only)
    assert intents_of(["提异议几天出结果"], "") == ["deadline", "handling"]
    assert intents_of(["复议决定多久能出来"], "") == ["remedy_route", "deadline", "handling"]
    assert intents_of(["信用记录有错，多久能改好"], "") == ["deadline", "handling"]  # correcting is the authority's act
    assert "handling" not in intents_of(["最晚什么时候要申请", "还来得及起诉吗"], "")
    # how heavy a sentence is (要判多久) is liability, not a deadline; 被判无效 几天之内 still is one
    assert intents_of(["黑进市里的政务网站改了首页，要判多久"], "") == ["liability"]
    assert "deadline" in intents_of(["投标被判无效 几天之内能质疑"], "")
    # 多少天内 asks a period, not an amount; 多少钱 still is one
    assert intents_of(["政府一直不回复，多少天内必须答复"], "") == ["deadline", "handling"]
    assert intents_of(["能赔多少钱"], "") == ["amount"]
    # 找A还是找B asks whom to turn to, like 找谁
    assert intents_of(["停车费多扣了，找城管还是找公司"], "") == ["defendant"]
    # asking to undo the act or get the money back asks a remedy; 会被撤销吗 (will it be revoked) does not
    assert intents_of(["强制执行前没催过我，能撤销吗"], "") == ["remedy_route"]
    assert intents_of(["当年被收走的钱能退回来吗"], "") == ["remedy_route"]
    assert intents_of(["父母的监护资格可以被撤销吗"], "") == []


def test_region_is_the_place_named():
    assert region_of("浙江的公共数据开放有什么规定") == "浙江省"
    assert region_of("我在杭州，健康码变红", regions=["杭州市", "浙江省"]) == "杭州市"
    assert region_of("某市大数据局外包运维") == ""
    places = load_issue_map()  # the shipped map's `places`: a city names its province
    assert region_of("我在温州开小厂，平台上信息是错的", issue_map=places) == "浙江省"
    assert region_of("我在温州开小厂", regions=["温州市"], issue_map=places) == "温州市"  # the collection's own region first
    assert region_of("某市大数据局外包运维", issue_map=places) == ""


def test_keyness_separates_statute_words_from_everyday_words():
    # 5,000 passages; jieba-like general counts out of 60 million
    df = {"罚款": 140, "天气": 0, "电影": 2, "公司": 46, "123": 900}.get
    general = {"罚款": 689, "天气": 2657, "电影": 4918, "公司": 45604, "123": 10}
    vocab = LegalVocabulary(document_frequency=lambda w: df(w, 0), passages=5000,
                            general_frequency=lambda w: (general.get(w, 0), 60_000_000))
    assert "罚款" in vocab and vocab.keyness("罚款") > 3
    assert "天气" not in vocab and "电影" not in vocab  # too rare in the collection to be judged
    assert "公司" not in vocab  # common in the statutes, but far more common in everyday Chinese
    assert "123" not in vocab  # digits are typical of statutes (article numbers), not legal words
    assert "合同" in vocab  # curated legal word, no statistics needed


def test_without_an_index_a_question_is_legal_by_its_curated_words():
    assert understand("合同违约了对方要赔偿吗").legal
    assert not understand("今天晚饭吃什么好呢").legal


def test_whom_and_what_alone_is_not_a_legal_question():
    # 孩子 and 医院 say whom and what a question is about: together one point, not two;
    # a trouble the law covers (欠钱不还, 医疗事故) is what makes it legal
    assert not understand("孩子发烧38度要去医院吗").legal
    assert not understand("老婆想给孩子买房子").legal
    assert understand("老公欠钱不还怎么办").legal
    assert understand("孩子在医院出了医疗事故").legal
    u = understand("？？？")
    assert not u.legal and u.intents == [] and u.asks == []


# --- through the real pipeline ----------------------------------------------------------


@pytest.fixture(scope="module")
def pipeline(indexed_home):
    indexed_home("mini-understanding", LAWS)
    return Pipeline.open("mini-understanding")


def empty(analysis) -> bool:
    return not (analysis.parties or analysis.remedies or analysis.conclusion
                or any(s.statement or s.basis for name in ("external", "internal", "individual", "fault_principle")
                       for s in getattr(analysis, name)))


@pytest.mark.parametrize("item", NONSENSE, ids=[q["id"] for q in NONSENSE])
def test_nonsense_gets_no_analysis_and_says_so(pipeline, item):
    answer = pipeline.ask(item["question"])
    u = answer.understanding
    assert u is not None and u.legal is False
    assert answer.no_legal_basis.startswith(NO_LEGAL_BASIS) and "法律问题图谱" in answer.no_legal_basis
    assert empty(answer.analysis) and answer.background == []
    # searched only when it names someone other than the asker (孩子…), and then it says so
    assert bool(answer.hits) == u.names_party == ("仍作了检索" in answer.no_legal_basis)
    assert answer.to_dict()["no_legal_basis"] == answer.no_legal_basis


def test_zero_analyses_over_the_whole_nonsense_set(pipeline):
    analysed = [q["id"] for q in NONSENSE if not empty(pipeline.ask(q["question"]).analysis)]
    assert analysed == []


def test_a_question_naming_another_party_is_searched_but_not_analysed(pipeline):
    # no word the gate knows (no issue cue, no legal term, no harm), but a bureau is named:
    # perhaps a real question in other words, so the results are listed apart, never analysed
    question = "区里那个局的人说话特别冲，我到底该去哪"
    answer = pipeline.ask(question)
    u = answer.understanding
    assert not u.legal and u.names_party
    assert answer.hits and all(hit.origin == "search" for hit in answer.hits)
    assert answer.no_legal_basis.startswith(NO_LEGAL_BASIS) and "仍作了检索" in answer.no_legal_basis
    assert empty(answer.analysis)
    # the same words with nobody named are not searched
    alone = pipeline.ask("说话特别冲，我到底该去哪")
    assert not alone.understanding.names_party and alone.hits == [] and "未作检索" in alone.no_legal_basis


def test_a_question_in_traditional_characters_is_read_in_simplified_ones(pipeline):
    question, issue_id = LAY[0]  # contractor-data-leak
    traditional = "我在政務網站上提交的身份證照片被人拿去貸款了，網站是外包公司做的，該找誰？"
    simplified, typed = pipeline.ask(question), pipeline.ask(traditional)
    assert typed.question == traditional  # repeated as typed
    assert issue_id in [i.issue_id for i in typed.understanding.issues]
    assert [i.issue_id for i in typed.understanding.issues] == [i.issue_id for i in simplified.understanding.issues]
    assert [h.unit_id for h in typed.hits] == [h.unit_id for h in simplified.hits]


@pytest.mark.parametrize("question, issue_id", LAY)
def test_lay_questions_are_legal_with_the_right_issue(pipeline, question, issue_id):
    answer = pipeline.ask(question)
    u = answer.understanding
    assert u.legal and not answer.no_legal_basis
    assert issue_id in [i.issue_id for i in u.issues]
    assert u.intents  # each asks something specific
    assert answer.hits and answer.to_dict()["understanding"]["issues"][0]["provisions"]


def test_map_provisions_join_the_fusion(pipeline):
    question = LAY[0][0]  # contractor-data-leak
    ranking = pipeline.issue_ranking(pipeline.understand(question))
    assert ranking and ranking[0].rank == 1  # the recognised issues' provisions that exist in this collection
    unit = ranking[0].unit_id
    with_map = [h.unit_id for h in pipeline.ask(question).hits if h.origin == "search"]
    pipeline.use_issue_map, pipeline._issue_map = False, None
    try:
        without = [h.unit_id for h in pipeline.ask(question).hits if h.origin == "search"]
        assert pipeline.fingerprint()["issue_map"] is False
    finally:
        pipeline.use_issue_map, pipeline._issue_map = True, None
    assert unit in with_map
    assert unit not in without or with_map.index(unit) < without.index(unit)
    fingerprint = pipeline.fingerprint()
    assert fingerprint["issue_map"] is True and fingerprint["issue_map_sha256"] == load_issue_map().sha256


def test_liability_question_puts_policy_in_background(pipeline):
    answer = pipeline.ask("数字政府建设中政务数据泄露了，山东省的政府部门要承担什么责任？")
    assert "liability" in answer.understanding.intents
    assert all(h.doc_type != "规范性文件" and h.doc_type != "学术文献" for h in answer.hits if h.origin == "search")
    assert answer.background and all(h.law == "山东省数字政府建设实施方案" for h in answer.background)


def test_pure_lookup_is_unchanged(pipeline):
    answer = pipeline.ask("数安法第45条")
    assert answer.understanding is None and answer.no_legal_basis == ""
    assert answer.hits[0].origin == "lookup" and answer.hits[0].article == "第四十五条"


def test_document_type_filter_keeps_what_was_asked_for(pipeline):
    question = "数字政府建设中政务数据泄露了，山东省的政府部门要承担什么责任？"
    policy_type = pipeline.ask(question).background[0].doc_type
    answer = pipeline.ask(question, filters={"doc_type": policy_type})
    assert answer.hits and all(h.doc_type == policy_type for h in answer.hits if h.origin == "search")
    assert answer.background == []


def test_collection_statistics_behind_keyness(pipeline):
    bm25, segmenter = pipeline.index.bm25, pipeline.index.segmenter
    passages = len(bm25.passages)
    with_term = sum(1 for tokens in map(segmenter.tokenize, (p.text for p in bm25.passages)) if "受托人" in tokens)
    assert bm25.document_frequency("受托人") == with_term > 0  # counted from the real passages
    assert bm25.document_frequency("红烧肉") == 0
    count, total = segmenter.general_frequency("天气")
    assert count > 0 and total > 1_000_000 and segmenter.general_frequency("受托人受托人")[0] == 0
    vocabulary = pipeline.vocabulary_of_law
    assert "个人信息保护法" in vocabulary.lexicon and vocabulary.keyness("天气") is None
    # the cities and districts the issue map lists are places, never legal words
    assert {"温州", "浦东"} <= vocabulary.places and not vocabulary.typical("温州")
    assert with_term <= passages


#: A second small collection without a liability or remedy clause: court and procuratorate
#: rules for serving documents (no 责任, 投诉, 复议, 诉讼 or 赔偿 in either). (It held the
#: online-litigation rules until session 16 typed them 司法解释 by their 审判委员会 adoption
#: line: binding, their 第三十八条 sanctions a 单位's 刑事责任.)
PROCEDURE_LAWS = ["司法解释/最高人民法院关于人民法院办理海峡两岸送达文书和调查取证司法互助案件的规定(2011-06-14).md",
                  "司法解释/最高人民检察院关于以检察专递方式邮寄送达有关检察法律文书的若干规定(2015-02-13).md"]


@pytest.fixture(scope="module")
def procedure_pipeline(pipeline, indexed_home):
    indexed_home("mini-procedure", PROCEDURE_LAWS)
    return Pipeline.open("mini-procedure")


@pytest.fixture(scope="module")
def esign_pipeline(pipeline, indexed_home):
    """The service rules beside the 电子签名法, whose articles do ground liabilities."""
    indexed_home("mini-esign", [PROCEDURE_LAWS[0], "民法商法/电子签名法(2019-04-23).md"])
    return Pipeline.open("mini-esign")


@pytest.mark.parametrize("question", ["法律", "法律法规", "有什么规定"])
def test_a_question_whose_search_grounds_nothing_gets_no_analysis(procedure_pipeline, question):
    """A question made of legal words only passes the vocabulary gate and is searched (on
    `default` so do off-topic ones with a word the law uses often: 什么是区块链, Python怎么
    读取文件); when no issue is recognised and the retrieved articles ground no party,
    slot or remedy, the answer is 未找到相关法律依据 with the search results listed apart,
    never a grid of 无依据 (analysis.says_nothing)."""
    from assistant.render import SEARCHED_TITLE, render_evidence

    answer = procedure_pipeline.ask(question)
    assert answer.understanding.legal and not answer.understanding.issues  # searched, not gated
    assert answer.no_legal_basis.startswith(NO_LEGAL_BASIS) and "未识别出任何一个" in answer.no_legal_basis
    assert empty(answer.analysis) and answer.hits  # the search results are kept, apart
    assert SEARCHED_TITLE in render_evidence(answer)


def test_a_grounded_answer_keeps_its_analysis(esign_pipeline):
    """A real question on a collection whose articles ground a liability: it keeps its
    analysis and its evidence title."""
    from assistant.render import EVIDENCE_TITLE, render_evidence

    answer = esign_pipeline.ask("电子签名有什么法律效力？伪造电子签名要承担什么责任？")
    assert not answer.no_legal_basis and answer.analysis.parties
    assert EVIDENCE_TITLE + "（" in render_evidence(answer)


def test_every_lay_topic_is_a_lay_phrase_of_the_expansion_table():
    """`LAY_TOPICS` names rows of `LAY_TO_LEGAL` by their pattern (the gate counts those rows
    together as one point and the others one each): a topic that is not exactly such a
    pattern would be a second, unchecked copy of the vocabulary."""
    from assistant.vocabulary import LAY_TO_LEGAL, LAY_TOPICS

    patterns = [pattern for pattern, _terms in LAY_TO_LEGAL]
    assert LAY_TOPICS <= set(patterns)
    assert len(patterns) == len(set(patterns))  # one row per lay phrase
