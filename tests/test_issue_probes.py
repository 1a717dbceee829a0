"""Issue recognition on lay questions written without seeing the map (eval/issue_probes.py).

The scorer on a two-issue map written to tmp_path (hand-checkable), the shipped probe sets'
shape, and floors a little under the shipped map's recognition on each set (the measured
figures, and each set's figure when it was first measured, are in the README's probe
tables); for the multi-issue sets also under the share of their other issues recognised.
A change to the map that loses recognition on questions worded by others fails here.
"""
from __future__ import annotations

import json

import pytest

from assistant.issue_map import load_issue_map
from corpus.records import IngestError
from eval.issue_probes import MULTI_ISSUE_SETS, PROBE_SETS, STYLES, Probe, load_probes, probe_scores, probe_set_path
from tests.test_issue_map import issue, write

FLOORS = {"tuning": 0.93, "tuning2": 0.95, "tuning3": 0.83, "tuning4": 0.90, "tuning5": 0.95, "tuning6": 0.97,
          "tuning7": 0.95, "tuning8": 0.95, "tuning9": 0.95, "tuning10": 0.97, "tuning11": 0.97, "tuning12": 0.95,
          "tuning13": 0.97, "tuning14": 0.97, "tuning15": 0.97, "tuning16": 0.97, "tuning17": 0.95, "tuning18": 0.96, "tuning19": 0.96, "tuning20": 0.93, "tuning21": 0.98, "tuning22": 0.88, "tuning23": 0.93, "tuning24": 0.97, "tuning25": 0.93,
          "heldout": 0.82, "heldout2": 0.79, "heldout3": 0.82, "heldout4": 0.87, "heldout5": 0.85,
          "heldout6": 0.92, "heldout7": 0.90, "heldout8": 0.85, "heldout9": 0.84, "heldout10": 0.90,
          "heldout11": 0.83, "heldout12": 0.90, "heldout13": 0.83, "heldout14": 0.80, "heldout15": 0.82, "heldout16": 0.82, "heldout17": 0.90, "heldout18": 0.93, "heldout19": 0.92}
#: Floors under `recognised_also` of the multi-issue sets (measured 0.772 / 0.652; 0.626 for
#: tuning11 when it was first read; tuning20 0.663 → 0.846 after round 20, heldout14 0.689 → 0.717;
#: tuning23 0.709 → 0.797 after round 23, heldout17 0.733; tuning25 0.692, heldout19 0.641 in round 25).
ALSO_FLOORS = {"tuning11": 0.76, "heldout5": 0.64, "tuning20": 0.82, "heldout14": 0.70, "tuning23": 0.78, "heldout17": 0.72,
               "tuning25": 0.66, "heldout19": 0.61}


def test_scores_count_the_expected_issue_by_style(tmp_path):
    issue_map = load_issue_map(write(tmp_path, [issue(), issue("gov-info", cues={"lay": ["信息公开&政府"], "legal": []})]))
    probes = [
        Probe("a", "contractor-data-leak", "外包公司把信息泄露了", "short"),  # 2 plain cues: recognised
        Probe("b", "contractor-data-leak", "公司被罚了", "story"),  # nothing
        Probe("c", "gov-info", "向政府申请信息公开没有答复", "story"),  # a&b cue: recognised
        Probe("d", "gov-info", "外包公司泄露了", "short"),  # the other issue only
    ]
    scores = probe_scores(issue_map, probes)
    assert scores == {"recognised": 0.5, "recognised_short": 0.5, "recognised_story": 0.5, "n": 4}


def test_also_issues_are_scored_per_pair(tmp_path):
    issue_map = load_issue_map(write(tmp_path, [issue(), issue("gov-info", cues={"lay": ["信息公开&政府"], "legal": []})]))
    probes = [
        Probe("a", "contractor-data-leak", "外包公司把信息泄露了，向政府申请信息公开也没答复", "story", ("gov-info",)),  # both
        Probe("b", "contractor-data-leak", "外包公司把信息泄露了", "short", ("gov-info",)),  # the also-issue missed
        Probe("c", "gov-info", "向政府申请信息公开没有答复", "short"),  # no also: not counted
    ]
    scores = probe_scores(issue_map, probes)
    assert scores["recognised"] == 1.0 and scores["recognised_also"] == 0.5


def test_unknown_issue_id_is_refused_with_file_and_line(tmp_path):
    issue_map = load_issue_map(write(tmp_path, [issue()]))
    path = tmp_path / "probes.jsonl"
    lines = [{"id": "a", "issue": "contractor-data-leak", "style": "short", "question": "外包公司泄露"},
             {"id": "b", "issue": "no-such-issue", "also": ["contractor-data-leak"], "style": "story", "question": "x"}]
    path.write_text("\n".join(json.dumps(line, ensure_ascii=False) for line in lines), encoding="utf-8")
    with pytest.raises(IngestError, match=r"probes\.jsonl:2: .*no-such-issue"):
        load_probes(path, issue_map)


@pytest.mark.parametrize("line, message", [
    ('{"id": "a", "issue": "contractor-data-leak"', "not valid JSON"),
    ('{"id": "a", "issue": "contractor-data-leak", "style": "short"}', "a probe needs id, issue, question and style"),
    ('{"id": "a", "issue": "contractor-data-leak", "style": "long", "question": "x"}', "style must be one of"),
])
def test_bad_probe_lines_name_file_and_line(tmp_path, line, message):
    path = tmp_path / "probes.jsonl"
    path.write_text('{"id": "z", "issue": "contractor-data-leak", "style": "short", "question": "x"}\n' + line,
                    encoding="utf-8")
    with pytest.raises(IngestError, match=rf"probes\.jsonl:2: {message}"):
        load_probes(path)


@pytest.fixture(scope="module")
def shipped_map():
    return load_issue_map()


@pytest.mark.parametrize("name", PROBE_SETS)
def test_shipped_probe_sets_cover_every_issue(shipped_map, name):
    probes = load_probes(probe_set_path(name), shipped_map)
    size = 120 if name in MULTI_ISSUE_SETS else 180
    assert len(probes) == size and len({p.id for p in probes}) == size
    if name in MULTI_ISSUE_SETS:  # each raises other issues too, never itself again
        assert all(1 <= len(p.also) <= 2 and p.issue not in p.also for p in probes)
    assert {p.style for p in probes} == ({"short"} if name == "tuning6" else set(STYLES))  # tuning6: short asks only
    # a multi-issue set covers every issue as the one it leads with or as one it raises too
    raised = {a for p in probes for a in p.also} if name in MULTI_ISSUE_SETS else set()
    assert {p.issue for p in probes} | raised == {i.id for i in shipped_map.issues}


@pytest.mark.parametrize("name", PROBE_SETS)
def test_recognition_on_probes_stays_above_its_floor(shipped_map, name):
    scores = probe_scores(shipped_map, load_probes(probe_set_path(name), shipped_map))
    assert scores["recognised"] >= FLOORS[name], scores
    assert scores.get("recognised_also", 1.0) >= ALSO_FLOORS.get(name, 0.0), scores
