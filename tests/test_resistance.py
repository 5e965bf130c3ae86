"""The verdict per setting (results/resistance.md): the least knowledge that clears each bar."""

from types import SimpleNamespace

import pytest

from disguisednets.reporting.resistance import RUNGS, rung, utility_costs, verdicts


def _run(attack, level, m, linkage, success, *, given=False, dataset="mnist", disguise="rmt-b7 noise", kind="attack",
         fold="0", mechanism="rmt", acc=None):
    tags = {"kind": kind, "attack": attack, "threat_level": level, "dataset": dataset, "fold": fold,
            "mechanism": mechanism, "setting": f"{attack} m={m} · {dataset} {disguise}"}
    if attack in ("covariance", "codebook", "frequency", "regression"):
        tags["permutation"] = "given (the true π: an upper bound)" if given else "estimated from position statistics"
    metrics = {"linkage_rate": linkage, "success_rate": success} if acc is None else {"test_acc": acc}
    return SimpleNamespace(data=SimpleNamespace(tags=tags, params={"attack.known_pairs": str(m)}, metrics=metrics))


def test_the_ladder_stops_at_the_first_rung_that_clears_each_bar():
    runs = [_run("direct", "a", 0, 0.0, 12.0), _run("covariance", "a", 0, 30.0, 80.0),
            _run("covariance", "a", 0, 97.0, 95.0, given=True),
            _run("regression", "b", 1, 2.0, 20.0), _run("regression", "b", 5, 100.0, 99.8),
            _run("regression", "b", 20, 100.0, 99.9), _run("regression", "b", 1000, 100.0, 100.0)]
    (v,) = verdicts({"x": runs})
    assert (v.dataset, v.setting) == ("mnist", "rmt-b7 noise")
    assert v.linkage == ("level (a), π given", "covariance", 97.0)
    assert v.success == ("level (a), π given", "covariance", 95.0)
    assert v.best_level_a == 30.0 and v.best_m20 == 100.0
    # Without the π-given run the first rung that clears both bars is m = 5.
    (v,) = verdicts({"x": [r for r in runs if r.data.tags.get("permutation", "").startswith("est") or
                           r.data.tags["attack"] != "covariance"]})
    assert v.linkage[:2] == ("m = 5", "regression") and v.success[:2] == ("m = 5", "regression")


def test_a_setting_that_resists_through_m_20_says_so_and_folds_are_averaged():
    runs = [_run("codebook", "b", 20, 60.0, 95.0, fold="0"), _run("codebook", "b", 20, 30.0, 80.0, fold="1")]
    (v,) = verdicts({"x": runs})
    assert v.linkage is None                                  # mean linkage 45 < 50: not within m = 20
    assert v.success is None                                  # mean success 87.5 < 90
    assert rung(_run("codebook", "b", 100, 0, 0)) is None and rung(_run("frequency", "a", 0, 0, 0)) == RUNGS[0]


def test_utility_cost_is_against_the_baseline_of_the_same_experiment_and_fold():
    trains = {"peers": [_run("train", "", 0, 0, 0, kind="train", mechanism="none", disguise="none", acc=99.0),
                        _run("train", "", 0, 0, 0, kind="train", acc=97.0)],
              "fig7": [_run("train", "", 0, 0, 0, kind="train", acc=96.0)],
              "table2": [_run("train", "", 0, 0, 0, kind="train", mechanism="none", disguise="none", acc=99.5)]}
    costs = utility_costs(trains)
    assert costs[("mnist", "rmt-b7 noise")] == (2.0 + 3.5) / 2   # peers vs its own baseline, fig7 vs Table II's


def test_the_best_with_pairs_includes_what_level_a_already_gets_but_not_the_pi_given_bound():
    """A cloud with 20 pairs still holds its public images: its best linkage is at least level (a)'s."""
    runs = [_run("frequency", "a", 0, 92.0, 98.0), _run("frequency", "a", 0, 99.0, 99.0, given=True),
            _run("codebook", "b", 20, 62.0, 40.0), _run("codebook", "b", 1000, 97.0, 93.0)]
    (v,) = verdicts({"x": runs})
    assert v.best_level_a == 92.0 and v.best_m20 == 92.0     # not 62 (m = 20 alone), not 99 (π given), not 97 (m = 1000)
    (v,) = verdicts({"x": runs[:2]})
    assert v.best_m20 is None                                 # no attack run with 20 pairs: no claim about that rung


def test_frontier_labels_are_short_and_name_the_setting():
    from disguisednets.reporting.resistance import short_label

    assert short_label("rmt-b7-orthogonal-matrix uniform-level100") == "RMT b7 orth. +U100"
    assert short_label("aes_ecb-b8-unit2 salt_and_pepper-rate0.02") == "AES-ECB b8 u2 +s&p 2%"
    assert short_label("instahide-b1") == "InstaHide" and short_label("etc-b4") == "EtC b4"
    assert short_label("dp_pixelization-b4-eps-inf") == "DP pixel. b4 ε∞"
    assert short_label("dp_pixelization-b7-eps0.5") == "DP pixel. b7 ε0.5"


def test_instahide_linkage_counts_any_private_image_its_encoding_mixes():
    """Carlini et al.'s attack brings back one of an encoding's private images, not necessarily the labelled one."""
    run = _run("instahide_carlini", "a", 0, 24.9, 34.2, disguise="instahide-b1", mechanism="instahide")
    (v,) = verdicts({"peers": [run]})
    assert v.linkage is None and v.best_level_a == 24.9     # without the 'any' metric: its own-image linkage
    run.data.metrics["linkage_rate_any"] = 97.1
    (v,) = verdicts({"peers": [run]})
    assert v.linkage == ("level (a)", "instahide_carlini", 97.1) and v.success is None


def test_an_experiment_without_a_baseline_uses_the_one_it_names():
    trains = {"peers": [_run("train", "", 0, 0, 0, kind="train", mechanism="none", disguise="none", acc=88.6)],
              "table2": [_run("train", "", 0, 0, 0, kind="train", mechanism="none", disguise="none", acc=90.0)],
              "instahide_curve": [_run("train", "", 0, 0, 0, kind="train", disguise="instahide-b1", acc=87.1)]}
    assert abs(utility_costs(trains)[("mnist", "instahide-b1")] - 1.5) < 1e-9                  # against peers'
    assert abs(utility_costs(trains, baseline_of={})[("mnist", "instahide-b1")] - 2.9) < 1e-9  # else Table II's


def test_frontier_draws_one_panel_per_dataset_with_a_point_per_costed_setting():
    from disguisednets.reporting.resistance import frontier_figure

    runs = [_run("covariance", "a", 0, 97.0, 95.0), _run("regression", "b", 20, 100.0, 99.0),
            _run("frequency", "a", 0, 51.0, 93.0, dataset="fashion", disguise="aes_ecb-b8-unit2")]
    costs = {("mnist", "rmt-b7 noise"): 1.9, ("fashion", "aes_ecb-b8-unit2"): 18.0}
    fig = frontier_figure(verdicts({"x": runs}), costs)
    panels = [ax for ax in fig.axes if ax.get_title()]
    assert [ax.get_title() for ax in panels] == ["fashion", "mnist"]
    offsets = [c.get_offsets().tolist() for c in panels[1].collections if len(c.get_offsets())]
    assert [[1.9, 97.0]] in offsets and [[1.9, 100.0]] in offsets   # level (a), and the best with ≤ 20 pairs
    assert [t.get_text() for t in panels[0].texts] == ["AES-ECB b8 u2"]


def test_frontier_draws_dp_pixelization_as_one_curve_per_block_size_through_its_epsilons():
    from disguisednets.reporting.resistance import frontier_figure

    runs = [_run("dp_denoise", "a", 0, y, 50.0, disguise=f"dp_pixelization-b{b}-eps{e}", mechanism="dp_pixelization")
            for b, e, y in ((4, "-inf", 55.0), (4, "5", 7.0), (4, "1", 0.2), (7, "-inf", 7.5), (7, "5", 1.0))]
    costs = {("mnist", f"dp_pixelization-b{b}-eps{e}"): c
             for b, e, c in ((4, "-inf", 2.0), (4, "5", 30.0), (4, "1", 80.0), (7, "-inf", 13.0), (7, "5", 37.0))}
    fig = frontier_figure(verdicts({"x": runs}), costs)
    (ax,) = [ax for ax in fig.axes if ax.get_title()]
    curves = {line.get_label(): line.get_xydata().tolist() for line in ax.lines if "DP" in line.get_label()}
    assert curves == {"DP pixelization b4 (ε from ∞ on the left to 0.1)": [[2.0, 55.0], [30.0, 7.0], [80.0, 0.2]],
                      "DP pixelization b7 (ε from ∞ on the left to 0.1)": [[13.0, 7.5], [37.0, 1.0]]}
    assert sorted(t.get_text() for t in ax.texts) == ["ε1", "ε5", "ε5", "ε∞", "ε∞"]


def test_a_run_snapshot_gives_back_what_the_report_reads_and_refuses_what_is_not_one(tmp_path):
    """results/runs/<experiment>.json.gz: the resistance report re-made without the store reads the same runs."""
    import pytest

    from disguisednets.reporting.runs import Runs
    from disguisednets.reporting.snapshot import read_snapshot, write_snapshot

    runs = [_run("covariance", "a", 0, 97.0, 95.0), _run("none", "", 0, 0, 0, kind="train", acc=98.5)]
    for i, r in enumerate(runs):
        r.info = SimpleNamespace(run_id=f"r{i}", start_time=1000 * i, end_time=1000 * i + 5)
        r.data.tags["mlflow.user"] = "someone"                    # MLflow's own tags are not kept
    path = write_snapshot(Runs("fig8", runs), tmp_path, "make results-resistance")
    again = read_snapshot(path)
    assert again.experiment == "fig8" and len(again) == 2
    assert [r.data.metrics for r in again.runs] == [r.data.metrics for r in runs]
    assert "mlflow.user" not in again.runs[0].data.tags and again.runs[0].data.tags["attack"] == "covariance"
    assert verdicts({"fig8": again.attacked()})[0].best_level_a == 97.0
    assert path.read_bytes() == write_snapshot(Runs("fig8", runs), tmp_path, "make results-resistance").read_bytes()
    with pytest.raises(ValueError, match="no finished runs"):
        write_snapshot(Runs("empty"), tmp_path, "x")
    (tmp_path / "bad.json.gz").write_bytes(b"not gzip")
    with pytest.raises(ValueError, match="not a run snapshot"):
        read_snapshot(tmp_path / "bad.json.gz")


def test_the_store_wins_per_grid_point_and_the_snapshot_fills_the_rest(tmp_path):
    """A sweep re-run in part (the store) and its earlier whole run (the snapshot): each grid point once."""
    from disguisednets.reporting.runs import Runs
    from disguisednets.reporting.snapshot import load_runs_or_snapshot, write_snapshot

    old = [_run("covariance", "a", 0, 90.0, 90.0), _run("direct", "a", 0, 0.0, 10.0)]
    for i, r in enumerate(old):
        r.info = SimpleNamespace(run_id=f"old{i}", start_time=0, end_time=1)
    write_snapshot(Runs("peers", old), tmp_path, "test")
    new = _run("covariance", "a", 0, 99.0, 99.0)
    new.info = SimpleNamespace(run_id="new", start_time=2, end_time=3)

    class Client:   # the store: one experiment with one finished run
        def __init__(self, found):
            self.found = found

        def get_experiment_by_name(self, name):
            return SimpleNamespace(experiment_id="1") if self.found else None

        def search_runs(self, *a, **k):
            return self.found

    runs, source = load_runs_or_snapshot(Client([new]), "peers", tmp_path)
    assert source == "store + snapshot" and sorted(r.info.run_id for r in runs.runs) == ["new", "old1"]
    runs, source = load_runs_or_snapshot(Client([]), "peers", tmp_path)
    assert source == "snapshot" and len(runs) == 2
    assert load_runs_or_snapshot(Client([]), "peers", tmp_path / "none")[1] == "none"
    # the attacks table of a results file reads the same way: the store's runs, the snapshot's for the rest
    from disguisednets.reporting.tables import attack_table

    for r in [*old, new]:   # what the table prints of each run besides its rates
        r.data.metrics.update({k: 1.0 for k in ("success_rate_paper", "mse", "ssim", "examiner_acc_original",
                                                "examiner_calib_worst", "paper_examiner_acc_original",
                                                "paper_examiner_calib_worst")})
    write_snapshot(Runs("peers", old), tmp_path, "test")
    rows = [ln for ln in attack_table(Client([new]), "peers", str(tmp_path)).splitlines()[2:] if ln.startswith("|")]
    assert len(rows) == 2 and any("| covariance |" in r and "99.0" in r for r in rows) and any("| direct |" in r for r in rows)
    assert len([ln for ln in attack_table(Client([new]), "peers").splitlines()[2:] if ln.startswith("|")]) == 1


def test_uniform_noise_of_level_0_is_the_same_setting_as_no_noise():
    """Fig 7 sweeps noise level 0, 50, 100; its level-0 trainings give the noise-free settings their cost."""
    trains = {"table2": [_run("train", "", 0, 0, 0, kind="train", mechanism="none", disguise="none", acc=99.0)],
              "fig7": [_run("train", "", 0, 0, 0, kind="train", disguise="rmt-b7-gaussian-matrix uniform-level0", acc=97.0),
                       _run("train", "", 0, 0, 0, kind="train", disguise="rmt-b7-gaussian-matrix uniform-level100", acc=96.0)]}
    costs = utility_costs(trains)
    assert costs[("mnist", "rmt-b7-gaussian-matrix")] == 2.0
    assert costs[("mnist", "rmt-b7-gaussian-matrix uniform-level100")] == 3.0
    assert ("mnist", "rmt-b7-gaussian-matrix uniform-level0") not in costs


def test_the_readme_verdict_reads_the_table_back_and_says_what_falls_and_what_resists():
    """resistance_markdown → read_resistance → verdict_markdown: every number the summary gives is a cell of the table."""
    from disguisednets.reporting.resistance import Verdict, resistance_markdown
    from disguisednets.reporting.verdict import read_resistance, readme_with_verdict, verdict_markdown

    found = [Verdict("mnist", "rmt-b7-orthogonal-matrix uniform-level100", ("level (a)", "covariance", 97.9),
                     ("level (a)", "covariance", 93.8), 97.9, 99.9, {"table2"}),
             Verdict("mnist", "permutation-b7", ("level (a)", "jigsaw", 100.0), ("level (a)", "jigsaw", 100.0),
                     100.0, 100.0, {"peers"}),
             Verdict("mnist", "etc-b4", ("m = 20", "known_pair", 100.0), None, 0.4, 100.0, {"peers"},
                     {("level (a)", "jigsaw"): 0.4, ("m = 20", "known_pair"): 100.0}),
             Verdict("mnist", "aes_ecb-b8-unit16", None, None, 0.4, 0.4, {"fig8"})]
    costs = {("mnist", "rmt-b7-orthogonal-matrix uniform-level100"): 1.9, ("mnist", "permutation-b7"): 1.0,
             ("mnist", "etc-b4"): 2.0, ("mnist", "aes_ecb-b8-unit16"): 21.9}
    rows = read_resistance(resistance_markdown(found, costs, "test"))
    assert [(r.setting, r.cost, r.best_level_a, r.best_m20) for r in rows] == [
        (v.setting, costs[("mnist", v.setting)], v.best_level_a, v.best_m20) for v in found]
    text = verdict_markdown(rows)
    assert "**The paper's RMT** (7×7 blocks, orthogonal, uniform noise of level 100) does not hide the images" in text
    assert "MNIST 97.9% re-identified at level (a) for 1.9 points" in text
    assert "Of the 2 other settings that cost under 5 points (per dataset), 1 is re-identified" in text
    assert "permutation b7 (MNIST 100.0%)" in text
    assert ("EtC b4 on MNIST (2.0 points, level-(a) linkage 0.4%; falls with 20 known pairs (known_pair, 100.0%); "
            "level-(a) attacks tried: jigsaw 0.4)") in text
    assert [r.tried for r in rows][2] == "known_pair (m = 20) 100.0, jigsaw 0.4"
    assert "AES-ECB b8 u16 on MNIST (21.9 points, best linkage 0.4%)" in text
    with pytest.raises(ValueError, match="no verdict rows"):
        read_resistance("# not a table\n")
    readme = "# X\n\n<!-- verdict: begin -->\nold\n<!-- verdict: end -->\n\n## Next\n"
    assert readme_with_verdict(readme, "new") == "# X\n\n<!-- verdict: begin -->\nnew\n<!-- verdict: end -->\n\n## Next\n"
    with pytest.raises(ValueError, match="markers"):
        readme_with_verdict("# X\n", "new")
