"""Question files for evaluation: JSONL as in ../shared/eval, CSV for spreadsheets."""
from __future__ import annotations

from pathlib import Path

import pytest

from corpus.records import IngestError
from assistant.refs import split_ref
from eval.questions import GoldArticle, load_questions, parse_gold_cell

SHARED = Path(__file__).resolve().parents[2] / "shared"


@pytest.mark.parametrize("ref, expected", [
    ("中华人民共和国刑法第二百五十三条之一", ("中华人民共和国刑法", "第二百五十三条之一")),
    ("中华人民共和国民法典第一千零三十九条", ("中华人民共和国民法典", "第一千零三十九条")),
    ("《数据安全法》第 45 条", ("数据安全法", "第四十五条")),
    ("刑法第253条之1", ("刑法", "第二百五十三条之一")),
    # the LAST article label splits: a title containing 第…号 stays whole
    ("全国人民代表大会常务委员会关于修改的决定（第二号）第一条", ("全国人民代表大会常务委员会关于修改的决定（第二号）", "第一条")),
    # the citations the analysis writes (`doc.title` + label), spaces in the title included
    ("最高人民法院 最高人民检察院关于办理侵犯公民个人信息刑事案件适用法律若干问题的解释第五条",
     ("最高人民法院最高人民检察院关于办理侵犯公民个人信息刑事案件适用法律若干问题的解释", "第五条")),
    ("笫十二条", None), ("数据安全法笫十二条", ("数据安全法", "第十二条")), ("个保法第１３条", ("个保法", "第十三条")),
    ("第五条", None),  # no law
    ("江苏省数字政府建设规划（一）", None),  # policy section, not an article
])
def test_split_ref(ref, expected):
    assert split_ref(ref) == expected


def test_csv_gold_cells_bom_separators_and_blank_rows(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text(
        "\ufeffid,question,gold\n"
        'c1,"委托企业泄露数据，谁负责？","中华人民共和国数据安全法第四十条; 中华人民共和国刑法第253条之1；"\n'
        ",,\n"
        "c2,平台出错怎么办,国家赔偿法第七条\n",
        encoding="utf-8",
    )
    questions = load_questions(path)
    assert [q.id for q in questions] == ["c1", "c2"]
    assert questions[0].gold == [GoldArticle("中华人民共和国数据安全法", "第四十条"),
                                 GoldArticle("中华人民共和国刑法", "第二百五十三条之一")]
    assert questions[0].question == "委托企业泄露数据，谁负责？"
    assert questions[1].gold == [GoldArticle("国家赔偿法", "第七条")]


def test_csv_bad_gold_names_file_and_line(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("id,question,gold\nc1,问题一,数据安全法第四十条\nc2,问题二,数据安全法\n", encoding="utf-8")
    with pytest.raises(IngestError, match=r"bad\.csv: line 3: .*数据安全法"):
        load_questions(path)
    assert parse_gold_cell("") == []


def test_csv_missing_column(tmp_path):
    path = tmp_path / "q.csv"
    path.write_text("id,question\nc1,问题\n", encoding="utf-8")
    with pytest.raises(IngestError, match="missing column.*gold"):
        load_questions(path)


def test_jsonl_errors_and_duplicates(tmp_path):
    path = tmp_path / "q.jsonl"
    path.write_text('{"id": "a", "question": "问", "gold": [{"law": "刑法", "article": "第X条"}]}\n', encoding="utf-8")
    with pytest.raises(IngestError, match="line 1: .*第X条"):
        load_questions(path)
    path.write_text('{"id": "a", "question": "问", "gold": []}\n' * 2, encoding="utf-8")
    with pytest.raises(IngestError, match="duplicate question id 'a'"):
        load_questions(path)
    (tmp_path / "q.txt").write_text("x", encoding="utf-8")
    with pytest.raises(IngestError, match="unknown question file type"):
        load_questions(tmp_path / "q.txt")


def test_shared_domain_questions_load_with_kinds_and_parties():
    questions = load_questions(SHARED / "eval" / "domain" / "domain_dev.jsonl")
    assert len(questions) == 20
    assert {q.kind for q in questions} == {"formal", "lay", "article_lookup", "who_is_liable"}
    first = questions[0]
    assert GoldArticle("中华人民共和国刑法", "第二百五十三条之一") in first.gold
    assert first.liable_parties[0].basis == "中华人民共和国数据安全法第四十九条"
    # every liable-party basis of the shared file is a readable article reference
    assert all(split_ref(p.basis) for q in questions for p in q.liable_parties)


def test_written_titles_and_title_keys():
    """Gold titles are stored as written (tidied); names compare by the one title key."""
    from corpus.versions import title_key, written_title

    assert written_title(" 《中华人民共和国 数据安全法》") == "中华人民共和国数据安全法"
    assert {title_key(t) for t in ("《中华人民共和国数据安全法》", "数据安全法", "中华人民共和国数据安全法（2021修正）")} == {"数据安全法"}
    assert title_key("最高人民法院关于适用〈中华人民共和国民事诉讼法〉的解释") == "最高人民法院关于适用民事诉讼法的解释"
