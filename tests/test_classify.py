"""The shared title/preamble → doc_type rules, on real titles from the corpus."""
from pathlib import Path

import pytest

from corpus.classify import infer_doc_type
from corpus.ingest import read_document

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize(
    ("title", "has_articles", "preamble", "expected"),
    [
        ("中华人民共和国数据安全法", True, "", "法律"),
        ("中华人民共和国国家发展规划法", True, "", "法律"),  # 规划 in a law's title is still a law
        ("网络数据安全管理条例", True, "", "效力待确认"),  # a bare 条例 title is no evidence
        ("网络数据安全管理条例", True, "中华人民共和国国务院令第790号", "行政法规"),
        ("上海市数据条例", True, "", "地方性法规"),
        ("深圳经济特区数据条例", True, "", "地方性法规"),
        ("最高人民法院关于审理行政赔偿案件若干问题的规定", True, "", "司法解释"),
        ("互联网信息服务算法推荐管理规定", True, "", "效力待确认"),
        ("互联网信息服务算法推荐管理规定", True, "国家互联网信息办公室 中华人民共和国工业和信息化部 令 第9号", "部门规章"),
        ("杭州市公共数据授权运营管理办法", True, "杭州市人民政府令第342号", "部门规章"),
        ("某省政务数据共享管理办法", True, "某政办发〔2023〕12号", "规范性文件"),
        ("北京大学本科生学籍管理条例", True, "", "效力待确认"),
        ("北京市某大学学生条例", True, "", "效力待确认"),
        ("通用数据保护条例", True, "欧洲议会和欧盟理事会2016年4月27日", "效力待确认"),
        ("中华人民共和国海关行政处罚实施办法", True, "", "效力待确认"),  # 办法 is not a law
        ("某某规定解释", True, "", "效力待确认"),  # 解释 outside the courts is no judicial interpretation
        ("浙江省人民代表大会常务委员会关于修改《浙江省电子商务条例》等四件法规的决定", False, "", "地方性法规"),
        ("关于修改《某市数据条例》等四件法规的决定", False, "2023年5月26日某市第十六届人民代表大会常务委员会第二次会议通过",
         "地方性法规"),
        ("全国人民代表大会常务委员会关于修改《中华人民共和国网络安全法》的决定", False, "", "法律"),
        ("江苏省“十四五”数字政府建设规划", False, "", "规划"),
        ("国务院关于深入实施“人工智能+”行动的意见", False, "", "规范性文件"),
        ("某某条例", True, "2020年1月1日 国务院令第1号公布", "行政法规"),
        ("数据出境安全评估办法", True, "", "效力待确认"),  # 办法 is not a law, and nothing shows who issued it
        ("数据出境安全评估办法", True, "国家互联网信息办公室令第11号", "部门规章"),
        ("某某办法", True, "2020年1月1日浙江省第十三届人民代表大会常务委员会第二次会议通过", "地方性法规"),
    ],
)
def test_infer_doc_type(title, has_articles, preamble, expected):
    assert infer_doc_type(title, has_articles=has_articles, preamble=preamble) == expected


def test_markdown_outside_lawrefbook_layout_is_typed_by_content(tmp_path):
    """An uploaded LawRefBook-style file has no folder to go by: its content decides, and a
    条例 whose file names no enacting body stays unconfirmed (the user can set the type)."""
    for rel, expected in [("行政法/数据安全法(2021-06-10).md", "法律"), ("行政法规/网络数据安全管理条例(2024-09-24).md", "效力待确认")]:
        target = tmp_path / Path(rel).name
        target.write_bytes((REPO / "data/lawrefbook" / rel).read_bytes())
        assert read_document(target).doc_type == expected


@pytest.mark.parametrize(("preamble", "judicial"), [
    ("法释〔2021〕12号", True),
    ("《人民法院在线诉讼规则》已于2021年5月18日由最高人民法院审判委员会第1838次会议通过，现予公布", True),
    ("根据《最高人民法院关于审理行政赔偿案件若干问题的规定》（法释〔2022〕10号），制定本办法。", False),  # only cites one
])
def test_a_judicial_interpretation_is_known_by_its_number_or_adoption(preamble, judicial):
    """Its title need not name the court (人民法院在线诉讼规则); a PDF of it was typed
    规范性文件 from the number 法释〔2021〕12号 read as any document number."""
    doc_type = infer_doc_type("人民法院在线诉讼规则", has_articles=True, preamble=preamble)
    assert (doc_type == "司法解释") is judicial, doc_type


@pytest.mark.parametrize(("title", "preamble", "region"), [
    ("台州市企业信用促进条例", "（2019年12月26日台州市第五届人民代表大会常务委员会第二十五次会议通过　2020年3月26日"
     "浙江省第十三届人民代表大会常务委员会第十九次会议批准）", "浙江省台州市"),
    ("浙江省数字经济促进条例", "（2020年12月24日浙江省第十三届人民代表大会常务委员会第二十六次会议通过）", "浙江省"),
    ("上海市数据条例", "（2021年11月25日上海市第十五届人民代表大会常务委员会第三十七次会议通过）", "上海市"),
    ("某市数据条例", "（经本市人民代表大会常务委员会通过）", ""),  # no province named: cannot tell
])
def test_a_local_regulation_is_placed_by_the_congresses_that_adopted_it(title, preamble, region):
    """As the LawRefBook reader names it (province, plus the city whose congress adopted it):
    a PDF of 台州市企业信用促进条例 had no region and never met its Markdown as a version."""
    from corpus.classify import congress_region

    assert congress_region(title, preamble) == region
