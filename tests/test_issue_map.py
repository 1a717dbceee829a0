"""The issue map loader and matcher (assistant/issue_map.py) on small maps written to tmp_path.

The shipped map's content is checked elsewhere (its provisions resolve in `default`);
here: the format is enforced with errors naming the file, and the scoring rule of
ISSUEMAP_SCHEMA.md (plain cue 1 point, `a&b` cue 2 points, recognised at 2) holds.
"""
from __future__ import annotations

import json

import pytest

from assistant.issue_map import (
    PROVISION_ROLES,
    IssueMapError,
    load_issue_map,
    normalise,
    place_word,
    ranked_provisions,
)


def issue(issue_id="contractor-data-leak", **changes):
    data = {
        "id": issue_id,
        "name": "受托企业泄露或滥用政务数据/个人信息",
        "area": "数据与个人信息",
        "act_kinds": ["个人信息保护纠纷", "行政赔偿"],
        "cues": {"lay": ["外包公司", "泄露", "信息被卖", "公司&政府"], "legal": ["受托人", "委托处理", "政务数据"]},
        "roles": ["行政机关", "受托企业"],
        "region": "",
        "provisions": [
            {"law": "中华人民共和国数据安全法", "article": "第四十条", "role": "duty", "why": "委托须监督受托方"},
            {"law": "中华人民共和国国家赔偿法", "article": "第三十九条", "role": "time_limit", "why": "时效两年",
             "time_limit": "2年"},
            {"law": "中华人民共和国个人信息保护法", "article": "第六十九条", "role": "liability", "why": "过错推定"},
        ],
    }
    data.update(changes)
    return data


def write(tmp_path, issues, fmt=1):
    path = tmp_path / "issue_map.json"
    path.write_text(json.dumps({"format": fmt, "description": "test", "issues": issues}, ensure_ascii=False),
                    encoding="utf-8")
    return path


def test_loads_and_normalises(tmp_path):
    m = load_issue_map(write(tmp_path, [issue()]))
    assert len(m) == 1 and len(m.sha256) == 64
    item = m.issues[0]
    assert item.act_kinds == ("个人信息保护纠纷", "行政赔偿")
    assert [c.parts for c in item.cues if c.text == "公司&政府"] == [("公司", "政府")]
    assert "受托人" in m.legal_terms and "外包公司" not in m.legal_terms


@pytest.mark.parametrize(
    "change, message",
    [
        ({"provisions": [{"law": "中华人民共和国数据安全法", "article": "第四十条", "role": "penalty"}]}, "role 'penalty'"),
        ({"provisions": [{"law": "中华人民共和国数据安全法", "article": "40", "role": "duty"}]}, "第X条"),
        ({"id": "Contractor Leak"}, "kebab-case"),
        ({"roles": ["行政机关", ""]}, "roles"),
        ({"cues": {"lay": ["a&"]}}, "empty part"),
        ({"cues": {"folk": ["x"]}}, "cues"),
        ({"provisions": []}, "provisions"),
    ],
)
def test_bad_issue_is_refused_with_file_and_issue_named(tmp_path, change, message):
    path = write(tmp_path, [issue(**change)])
    with pytest.raises(IssueMapError) as err:
        load_issue_map(path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_format_version_duplicate_ids_and_bad_json_are_refused(tmp_path):
    with pytest.raises(IssueMapError, match="format 2"):
        load_issue_map(write(tmp_path, [issue()], fmt=2))
    with pytest.raises(IssueMapError, match="occurs twice"):
        load_issue_map(write(tmp_path, [issue(), issue()]))
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(IssueMapError, match="bad.json: not valid UTF-8 JSON"):
        load_issue_map(bad)
    with pytest.raises(IssueMapError, match="missing.json: cannot read"):
        load_issue_map(tmp_path / "missing.json")


def test_every_schema_role_is_accepted(tmp_path):
    provisions = [{"law": "中华人民共和国数据安全法", "article": "第四十条", "role": role} for role in PROVISION_ROLES]
    assert len(load_issue_map(write(tmp_path, [issue(provisions=provisions)])).issues[0].provisions) == 7


def test_scoring_plain_one_point_combined_two_recognised_at_two(tmp_path):
    m = load_issue_map(write(tmp_path, [issue()]))
    assert m.match("数据泄露了怎么办") == []  # one generic cue: 1 point
    two = m.match("外包公司泄露了我的信息")
    assert [(r.issue_id, r.score, r.cues) for r in two] == [("contractor-data-leak", 2.0, ("外包公司", "泄露"))]
    both = m.match("政府找的公司把我的材料弄丢了")  # 公司&政府 alone: 2 points
    assert both and both[0].score == 2.0 and both[0].cues == ("公司&政府",)
    assert m.match("公司把我的材料弄丢了") == []  # one part of the combination is not enough
    assert m.match("受托人违法委托处理个人信息，泄露")[0].score == 3.0


def test_cue_inside_a_longer_matched_cue_counts_once(tmp_path):
    m = load_issue_map(write(tmp_path, [issue(cues={"lay": ["外包", "外包公司"], "legal": []})]))
    assert m.match("一家外包公司") == []  # 外包 is part of 外包公司: one phrase, one point
    # the rule is per cue, not per occurrence: a cue contained in another matched cue never adds a point
    assert m.match("外包给了外包公司") == []


def test_normalisation_full_width_and_spaces(tmp_path):
    m = load_issue_map(write(tmp_path, [issue(cues={"lay": ["App泄露", "外包"], "legal": []})]))
    assert normalise("ＡＰＰ 泄 露") == "app泄露"
    assert m.match("外包的ＡＰＰ 泄露")[0].score == 2.0


def test_local_issue_needs_its_place(tmp_path):
    local = issue("zhejiang-public-data", region="浙江省", cues={"lay": ["公共数据", "开放"], "legal": []})
    m = load_issue_map(write(tmp_path, [local]))
    assert place_word("浙江省") == "浙江" and place_word("新疆维吾尔自治区") == "新疆"
    assert m.match("公共数据开放有什么规定") == []
    assert m.match("浙江的公共数据开放有什么规定")[0].region == "浙江省"


def test_a_named_place_counts_as_one_point_for_its_local_issue(tmp_path):
    """A local issue's place in the question is a cue of its own up to the threshold: with
    one plain cue the issue is recognised (安阳 + 回执); the same cue without the place, or
    a national issue's one plain cue, is not; a local issue at the threshold keeps its score."""
    local = issue("zhejiang-public-data", region="浙江省", cues={"lay": ["公共数据", "开放"], "legal": []})
    m = load_issue_map(write(tmp_path, [issue(), local]))
    assert m.match("公共数据有什么规定") == []
    found = m.match("浙江的公共数据有什么规定")
    assert [(r.issue_id, r.score, r.cues) for r in found] == [("zhejiang-public-data", 2.0, ("公共数据",))]
    assert m.match("浙江的公共数据开放有什么规定")[0].score == 2.0
    assert m.match("浙江的数据泄露了怎么办") == []  # a national issue's one plain cue: still 1 point
    assert m.match("浙江有什么规定") == []  # the place alone is no issue


def test_local_issue_is_recognised_with_its_companions_in_its_place(tmp_path):
    """A place's regulation comes with a recognised national issue it names as companion,
    when the question names the place — whatever words the story uses."""
    local = issue("shanghai-data", name="上海市数据条例", region="上海市", cues={"lay": ["公共数据&开放"], "legal": []},
                  companions=["contractor-data-leak"])
    m = load_issue_map(write(tmp_path, [issue(), local, issue("other-issue", cues={"lay": ["罚款&抓拍"], "legal": []})]))
    story = "外包公司泄露了我的信息"
    assert [r.issue_id for r in m.match(story)] == ["contractor-data-leak"]  # no place: national law only
    found = m.match("上海的" + story)
    assert [(r.issue_id, r.score) for r in found] == [("contractor-data-leak", 2.0), ("shanghai-data", 2.0)]
    assert found[1].cues == ("上海&受托企业泄露或滥用政务数据/个人信息",)
    assert [r.issue_id for r in m.match("上海的摄像头抓拍后罚款")] == ["other-issue"]  # not a companion
    assert [r.issue_id for r in m.match("上海的公共数据开放")] == ["shanghai-data"]  # its own cues still count, once


def test_a_place_inside_the_region_names_it(tmp_path):
    """People name their city or district (温州, 浦东), not the province: `places` lists
    them per region; a place of another region does not count."""
    local = issue("zhejiang-public-data", region="浙江省", cues={"lay": ["公共数据", "开放"], "legal": []})
    shanghai = issue("shanghai-data", name="上海市数据条例", region="上海市", cues={"lay": ["公共数据&开放"], "legal": []},
                     companions=["contractor-data-leak"])
    path = tmp_path / "issue_map.json"
    path.write_text(json.dumps({"format": 1, "description": "test", "places": {"浙江省": ["温州", "杭州"], "上海市": ["浦东"]},
                                "issues": [issue(), local, shanghai]}, ensure_ascii=False), encoding="utf-8")
    m = load_issue_map(path)
    assert [r.issue_id for r in m.match("温州的公共数据开放有什么规定")] == ["zhejiang-public-data"]
    assert m.match("广州的公共数据开放有什么规定") == []  # 广州 is not listed for 浙江
    found = m.match("浦东的外包公司泄露了我的信息")
    assert [r.issue_id for r in found] == ["contractor-data-leak", "shanghai-data"]
    assert found[1].cues == ("浦东&受托企业泄露或滥用政务数据/个人信息",)  # the word the question used


@pytest.mark.parametrize("places, message", [
    (["温州"], "`places` must be an object"),
    ({"浙江省": ["温"]}, "places.浙江省: every place name needs two characters or more"),
    ({"浙江省": []}, "places.浙江省"),
])
def test_bad_places_are_refused(tmp_path, places, message):
    path = tmp_path / "issue_map.json"
    path.write_text(json.dumps({"format": 1, "description": "test", "places": places, "issues": [issue()]},
                               ensure_ascii=False), encoding="utf-8")
    with pytest.raises(IssueMapError) as err:
        load_issue_map(path)
    assert str(path) in str(err.value) and message in str(err.value)


@pytest.mark.parametrize("change, message", [
    ({"companions": ["contractor-data-leak"]}, "`companions` is for a local issue"),
    ({"region": "上海市", "companions": ["no-such-issue"]}, "companion 'no-such-issue' is not the id of a national issue"),
])
def test_bad_companions_are_refused(tmp_path, change, message):
    path = write(tmp_path, [issue(), issue("local-one", **change)])
    with pytest.raises(IssueMapError) as err:
        load_issue_map(path)
    assert str(path) in str(err.value) and message in str(err.value)


def test_ranked_provisions_by_votes_and_asked_role(tmp_path):
    second = issue("state-compensation", provisions=[
        {"law": "中华人民共和国国家赔偿法", "article": "第三十九条", "role": "time_limit"},
        {"law": "中华人民共和国国家赔偿法", "article": "第二条", "role": "basis"},
    ])
    m = load_issue_map(write(tmp_path, [issue(), second]))
    issues = [i.recognised(3.0, ()) for i in m.issues]
    default = [p.ref for p in ranked_provisions(issues)]
    # 第三十九条 is named by both issues: its two votes (3/2 + 3/1.5) beat the first place
    # of either issue (3); equal votes keep the order of first appearance
    assert default == ["中华人民共和国国家赔偿法第三十九条", "中华人民共和国个人信息保护法第六十九条",
                       "中华人民共和国国家赔偿法第二条", "中华人民共和国数据安全法第四十条"]
    alone = [p.ref for p in ranked_provisions(issues[:1])]
    assert alone == ["中华人民共和国个人信息保护法第六十九条", "中华人民共和国数据安全法第四十条",
                     "中华人民共和国国家赔偿法第三十九条"]
    liability_asked = [p.ref for p in ranked_provisions(issues, ["liability"])]
    assert liability_asked[0] == "中华人民共和国个人信息保护法第六十九条" and len(liability_asked) == 4


def test_synonym_family_cues(tmp_path):
    """`@name` in a cue stands for any word of the map's family `name`; `@a&@b` is one
    `&` cue (2 points) whatever members occur; an undefined family is refused."""
    path = tmp_path / "issue_map.json"
    data = {"format": 1, "description": "test",
            "families": {"受托企业": ["外包公司", "软件公司"], "个人信息": ["住址", "手机号"]},
            "issues": [issue(cues={"lay": ["@受托企业&@个人信息", "@受托企业"], "legal": ["受托人"]})]}
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    m = load_issue_map(path)
    found = m.match("软件公司把市民的手机号给了别人")
    assert [(r.issue_id, r.score) for r in found] == [("contractor-data-leak", 3.0)]
    assert m.match("软件公司开发了一个系统") == []  # one family word alone is one point
    data["issues"][0]["cues"]["lay"].append("@没有&住址")
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(IssueMapError, match="family '@没有'"):
        load_issue_map(path)


def test_rewrites_keep_the_other_sense_of_a_cue_word_out(tmp_path):
    """`rewrites` say what an everyday phrase means before cues are matched: 扣了6分 is a
    points deduction, not the seizure a `扣了&车` cue looks for; a bad pattern is refused."""
    path = tmp_path / "issue_map.json"
    data = {"format": 1, "description": "test",
            "rewrites": [{"pattern": "扣了?[0-9一二三四五六七八九十]*分", "as": "扣分", "why": "记分不是扣押"}],
            "issues": [issue(cues={"lay": ["扣了&车"], "legal": ["扣押"]})]}
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    m = load_issue_map(path)
    assert m.rewritten("电子眼拍错车牌，扣了6分") == "电子眼拍错车牌，扣分"
    assert m.match("电子眼拍错了我的车牌，扣了6分") == []
    assert [r.issue_id for r in m.match("我的货车被执法队扣了一个月")] == ["contractor-data-leak"]
    data["rewrites"][0]["pattern"] = "扣了("
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(IssueMapError, match=r"rewrites\[1\]: '扣了\(' is not a valid pattern"):
        load_issue_map(path)
    data["rewrites"] = [{"pattern": "扣了", "as": "扣分"}]
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    with pytest.raises(IssueMapError, match=r"rewrites\[1\]: needs non-empty strings"):
        load_issue_map(path)


def test_an_accidental_deletion_is_no_request_to_delete():
    """误删 / 不小心删了 is one's own slip (a lost photo), not asking a processor to delete
    personal information; asking them to delete still is (the shipped map's rewrites)."""
    shipped = load_issue_map()
    assert "pi-rights-correction-deletion" not in [r.issue_id for r in shipped.match("硬盘里的照片误删了能找回来吗")]
    assert "pi-rights-correction-deletion" not in [r.issue_id for r in shipped.match("我不小心删掉了手机里的照片")]
    assert "pi-rights-correction-deletion" in [r.issue_id for r in shipped.match("政务App一直不删我的照片，我要求删除")]
