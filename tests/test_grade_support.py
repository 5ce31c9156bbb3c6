"""Shared helpers for the grader tests: small manifests built from the example specs, and CSVs.

Variants differ from the seed's numbers by deterministic nudges (no RNG), so every test sees
several students with different keys.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from nnexam.graph import build_graph
from nnexam.manifest import Manifest, Question, StudentVariant
from nnexam.notation import labels
from nnexam.solve import evaluate
from nnexam.spec import load_spec, parse_spec

EXAMPLES = Path(__file__).resolve().parents[1] / "problem_banks" / "examples"

# The steps a typical sheet asks for (canonical names exist in every 2-layer example).
ASKED_KINDS = ("z", "a", "E", "dE_da", "delta", "dE_dw", "w_new", "E_new")


def make_manifest(spec: str = "mazur_2-2-2", students: int = 4, decimals: int = 4, kind: str = "decimals",
                  value: float = 0.0, kinds: tuple[str, ...] = ASKED_KINDS, ids: list[str] | None = None) -> Manifest:
    """A manifest of `students` variants of an example spec, asking every step of the given kinds."""
    base = load_spec(EXAMPLES / f"{spec}.toml")
    d = base.to_dict()
    nets = []
    for i in range(students):
        v = dict(d)
        # Nudge each weight by a multiple of 0.01 that depends on student and position.
        v["weights"] = [[[round(w + 0.01 * (((i + 1) * (l + 2 * j + 3 * k + 1)) % 7 - 3), 2) for k, w in enumerate(row)]
                         for j, row in enumerate(m)] for l, m in enumerate(d["weights"])]
        nets.append(parse_spec(v, f"student {i}"))
    graph = build_graph(base.arch)
    names = labels(graph, base.notation, dict(base.names))
    questions = tuple(Question(s.name, names[s.name].ascii, s.task, 1.0, decimals, kind, value)
                      for s in graph.steps if s.kind in kinds)
    ids = ids or [f"s{i + 1:03d}" for i in range(students)]
    studs = []
    for i, (sid, net) in enumerate(zip(ids, nets)):
        studs.append(StudentVariant.of(sid, f"Student Ñame {i + 1}", f"V{i + 1:02d}", net))
    return Manifest("7", spec, "sha256:test", {"decimals": decimals}, f"Test exam {spec}", "NN 101", "2026-01-01",
                    base.notation, questions, tuple(studs))


def keys(manifest: Manifest) -> list[dict[str, float]]:
    """Every student's exact value of every step (an independent evaluation per student)."""
    graph = manifest.graph
    return [{k: float(v[0]) for k, v in evaluate(graph, s.network.givens()).items()} for s in manifest.students]


def wide_csv(manifest: Manifest, answers: list[dict[str, str]], ids: list[str] | None = None,
             variants: list[str] | None = None, delimiter: str = ",", newline: str = "\n") -> bytes:
    """A wide submission file; answers[i] maps canonical name -> cell text."""
    ids = ids or [s.id for s in manifest.students][: len(answers)]
    variants = variants or [s.variant for s in manifest.students][: len(answers)]
    header = ["student_id", "variant"] + [q.label for q in manifest.questions]
    lines = [delimiter.join(header)]
    for sid, var, ans in zip(ids, variants, answers):
        lines.append(delimiter.join([sid, var] + [ans.get(q.name, "") for q in manifest.questions]))
    return (newline.join(lines) + newline).encode("utf-8")


def rounded_chain(manifest: Manifest, student: int, decimals: int, how: str = "round") -> dict[str, float]:
    """What a student gets who rounds (or truncates) every intermediate value and carries on from it."""
    from nnexam.solve import evaluate_step

    graph = manifest.graph
    env = dict(manifest.students[student].network.givens())
    scale = 10.0 ** decimals
    for step in graph.steps:
        v = float(np.asarray(evaluate_step(step.expr, env)).reshape(-1)[0])
        v = round(v, decimals) if how == "round" else truncate(v, decimals)
        env[step.name] = np.array([v])
    return {k: float(v[0]) for k, v in env.items()}


def truncate(v: float, decimals: int) -> float:
    """v truncated toward zero at `decimals`, as on paper: 0.393 (stored as 0.39299999999999996) stays 0.393."""
    scale = 10.0 ** decimals
    return float(np.trunc(round(v * scale, 6)) / scale)


def fmt(v: float, decimals: int = 4) -> str:
    return f"{v:.{decimals}f}"
