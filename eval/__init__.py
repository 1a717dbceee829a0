"""Batch evaluation of the answer pipeline (issue 6).

API used by the CLI (`fagui eval`, `fagui eval-compare`):

* `load_questions(path)` — `.jsonl` (shared/eval format) or `.csv` (id, question, gold);
* `run_eval(pipeline, questions, *, mode, k, out_dir, limit, progress)` → `EvalResult`,
  `format_eval(result)` → terminal summary;
* `compare_runs(dir_a, dir_b)` → `CompareResult`, `format_compare(result)` → text.
"""
from eval.compare import CompareResult, compare_runs, format_compare
from eval.questions import Question, load_questions
from eval.runner import EvalResult, format_eval, run_eval

__all__ = [
    "CompareResult", "EvalResult", "Question",
    "compare_runs", "format_compare", "format_eval", "load_questions", "run_eval",
]
