"""Published results to compare against: V-D4RL Table 1 (Lu et al. 2022) and LOMPO Table 1
(Rafailov et al. 2021).

V-D4RL: final score = return / 10, mean and std over seeds; "Data Mean" is the dataset's mean score.
V-D4RL's "mixed" datasets are our ``medium_replay``, its "medexp" our ``medium_expert``.
LOMPO: "undiscounted average returns normalized to roughly lie between 0 and 100, where a score of 0
corresponds to a random policy, and 100 corresponds to an expert" (its Table 1 caption), one number
per cell (no seeds or spread given), on the authors' own datasets (LOMPO appendix A).
"""

from __future__ import annotations

ALGOS = ("offline_dv2", "drqbc", "cql", "bc", "lompo")

# (task, recipe) -> (Offline DV2, DrQ+BC, CQL, BC, LOMPO) as (mean, std), then the data mean.
_TABLE1 = {
    ("walker-walk", "random"): ((28.7, 13.0), (5.5, 0.9), (14.4, 12.4), (2.0, 0.2), (21.9, 8.1), 4.2),
    ("walker-walk", "medium_replay"): ((56.5, 18.1), (28.7, 6.9), (11.4, 12.4), (16.5, 4.3), (34.7, 19.7), 14.5),
    ("walker-walk", "medium"): ((34.1, 19.7), (46.8, 2.3), (14.8, 16.1), (40.9, 3.1), (43.4, 11.1), 44.0),
    ("walker-walk", "medium_expert"): ((43.9, 34.4), (86.4, 5.6), (56.4, 38.4), (47.7, 3.9), (39.2, 19.5), 70.4),
    ("walker-walk", "expert"): ((4.8, 0.6), (68.4, 7.5), (89.6, 6.0), (91.5, 3.9), (5.3, 7.7), 97.0),
    ("cheetah-run", "random"): ((31.7, 2.7), (5.8, 0.6), (5.9, 8.4), (0.0, 0.0), (11.4, 5.1), 0.7),
    ("cheetah-run", "medium_replay"): ((61.6, 1.0), (44.8, 3.6), (10.7, 12.8), (25.0, 3.6), (36.3, 13.6), 19.1),
    ("cheetah-run", "medium"): ((17.2, 3.5), (53.0, 3.0), (40.9, 5.1), (51.6, 1.4), (16.4, 8.3), 52.4),
    ("cheetah-run", "medium_expert"): ((10.4, 3.5), (50.6, 8.2), (20.9, 5.5), (57.5, 6.3), (11.9, 1.9), 70.7),
    ("cheetah-run", "expert"): ((10.9, 3.2), (34.5, 8.3), (61.5, 4.3), (67.4, 6.8), (14.0, 3.8), 89.1),
    ("humanoid-walk", "random"): ((0.1, 0.0), (0.1, 0.0), (0.2, 0.1), (0.1, 0.0), (0.1, 0.0), 0.1),
    ("humanoid-walk", "medium_replay"): ((0.2, 0.1), (15.9, 3.8), (0.1, 0.0), (18.8, 4.2), (0.2, 0.0), 27.6),
    ("humanoid-walk", "medium"): ((0.2, 0.1), (6.2, 2.4), (0.1, 0.0), (13.5, 4.1), (0.1, 0.0), 57.3),
    ("humanoid-walk", "medium_expert"): ((0.1, 0.0), (7.0, 2.3), (0.1, 0.0), (17.2, 4.7), (0.2, 0.0), 71.6),
    ("humanoid-walk", "expert"): ((0.2, 0.1), (2.7, 0.9), (1.6, 0.5), (6.1, 3.7), (0.1, 0.0), 85.8),
}


def vd4rl_table1(task: str, recipe: str) -> dict | None:
    """``{"scores": {algo: (mean, std)}, "data_mean": x}`` for one of V-D4RL's datasets, else None."""
    row = _TABLE1.get((task, recipe))
    if row is None:
        return None
    return {"scores": dict(zip(ALGOS, row[:-1])), "data_mean": row[-1]}


LOMPO_ALGOS = ("lompo", "lmbrl", "offline_slac", "cql", "bc")

# (task, recipe) -> (LOMPO, LMBRL, Offline SLAC, CQL, BC), normalized returns.
_LOMPO_TABLE1 = {
    ("walker-walk", "medium_replay"): (74.9, 44.7, -0.1, 14.7, 5.3),
    ("walker-walk", "medium_expert"): (91.7, 76.3, 32.8, 45.1, 15.6),
    ("walker-walk", "expert"): (75.8, 24.5, 11.3, 40.3, 11.8),
    ("dclaw-screw", "medium_replay"): (71.8, 72.4, 65.9, 26.3, 11.7),
    ("dclaw-screw", "medium_expert"): (100.4, 96.2, 76.3, 30.3, 27.6),
    ("dclaw-screw", "expert"): (99.2, 90.8, 63.4, 24.2, 25.2),
    ("adroit-pen", "medium_replay"): (82.8, 5.2, 5.4, 25.8, 46.7),
    ("adroit-pen", "medium_expert"): (94.6, 0.0, -1.7, 43.5, 41.8),
    ("adroit-pen", "expert"): (96.1, 0.2, -0.4, 51.4, 45.4),
    ("door-open", "medium_expert"): (95.7, 0.0, 0.0, 0.0, 72.2),
    ("door-open", "expert"): (0.0, 0.0, 0.0, 0.0, 97.4),
}


def lompo_table1(task: str, recipe: str) -> dict[str, float] | None:
    """``{algo: normalized return}`` of LOMPO Table 1 for one of its task/dataset pairs, else None."""
    row = _LOMPO_TABLE1.get((task, recipe))
    return None if row is None else dict(zip(LOMPO_ALGOS, row))
