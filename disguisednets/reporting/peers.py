"""results/peers.md: this paper's mechanisms beside the published alternatives (docs/method.md §6).

One row per scheme and dataset: the accuracy of the model trained on it and its cost against the
baseline, the best attack with no known pair (level a) and with m = 20 pairs (level b), each with its
success under the robust examiner and its linkage rate; and beside level (a), the best attack handed the
true block permutation π ("π given": an upper bound, not a threat the cloud poses). "Best" = the highest
success among the attacks run on that scheme at that level; every attack run is listed below the table.
"""

from __future__ import annotations

from disguisednets.reporting.paper import PAPER_TABLE2
from disguisednets.reporting.runs import Runs, fmt, pi_given, values

__all__ = ["SCHEMES", "peers_markdown", "reference_instahide"]

# mechanism tag → (display name, source, what its paper reports for these datasets)
SCHEMES: dict[str, tuple[str, str]] = {
    "none": ("baseline (no disguise)", "—"),
    "permutation": ("block permutation", "this paper §III-A"),
    "rmt": ("RMT + uniform noise", "this paper §III-B"),
    "aes_ecb": ("AES-ECB + salt-and-pepper", "this paper §III-B"),
    "etc": ("EtC block-wise encryption", "Kiya lab (Kurihara et al. 2015; Sirichotedumrong et al. 2019)"),
    "learnable": ("learnable image encryption", "Tanaka 2018"),
    "instahide": ("InstaHide, inside-dataset", "Huang et al. 2020"),
    "dp_pixelization": ("DP pixelization", "Fan 2018"),
}

# What each scheme's own paper reports on MNIST / Fashion-MNIST, where it reports anything.
REPORTED = {
    "rmt": lambda d: f"acc. {PAPER_TABLE2[d]['rmt'][0]}, attack (m = ?) {PAPER_TABLE2[d]['rmt_attack'][0]}",
    "aes_ecb": lambda d: f"acc. {PAPER_TABLE2[d]['aes_ecb'][0]}, attack {PAPER_TABLE2[d]['aes_ecb_attack'][0]}",
    "none": lambda d: f"acc. {PAPER_TABLE2[d]['baseline'][0]}",
    "permutation": lambda d: "— (an auxiliary step)",
    "etc": lambda d: "— (CIFAR-10 only)",
    "learnable": lambda d: "— (CIFAR-10 only)",
    "instahide": lambda d: "— (its paper has MNIST; see the note)",
    "dp_pixelization": lambda d: "— (face images only)",
}


def _setting(run) -> str:
    p = run.data.params
    mech = p.get("mechanism.name", run.data.tags.get("mechanism", ""))
    parts = []
    if p.get("mechanism.block_size") and mech not in ("none", "instahide"):
        b = p["mechanism.block_size"]
        parts.append(f"{b}×{b}")
    for k, label in (("mechanism.unit", "unit {}"), ("noise.level", "level {}"), ("noise.rate", "p = {}"),
                     ("mechanism.k", "k = {}"), ("mechanism.cap", "cap {}"), ("mechanism.epsilon", "ε = {}"),
                     ("mechanism.m", "m = {} px")):
        if p.get(k) not in (None, "", "None"):
            parts.append(label.format(p[k]))
    if mech == "dp_pixelization" and p.get("mechanism.epsilon") in (None, "", "None"):
        parts.insert(1, "ε = ∞")   # a null ε is not logged as a param
    if mech == "instahide" and p.get("mechanism.fresh_encodings") == "False":
        parts.append("one set of encodings")
    if mech == "instahide" and run.data.tags.get("kind") == "train":
        parts.append(f"trained: {p.get('model.name')} w{float(p.get('model.width', 1)):g}, "
                     f"{p.get('trainer.max_epochs')} epochs" + (", fresh encodings every epoch"
                                                              if p.get("mechanism.fresh_encodings") == "True" else ""))
    return ", ".join(parts)


def _attack_name(run) -> str:
    t, p = run.data.tags, run.data.params
    name = t.get("attack", "?")
    if name == "codebook" and p.get("attack.miss_fill"):
        name += f" ({p['attack.miss_fill']} fill)"
    if pi_given(run):
        name += ", π given"
    return name


def _best(runs: list) -> tuple[str, str, str]:
    if not runs:
        return "—", "—", "—"
    best = max(runs, key=lambda r: r.data.metrics.get("success_rate", -1))
    return (_attack_name(best), fmt(values([best], "success_rate")), fmt(values([best], "linkage_rate")))


NOTES = ["", "**Reading the table.** *Accuracy*: AlexNet (quarter width) trained on the disguised training images "
         "and tested on the disguised test images (InstaHide: on the test images in the clear, as its reference "
         "code does). *Utility cost* = baseline − accuracy, in points. *Success* = 100 × the robust examiner's "
         "accuracy on the reconstructions / its accuracy on the originals; *linkage* = share of reconstructions "
         "whose own original is the most correlated test original (chance 0.01%). *Level (a)*: the cloud holds the "
         "disguised data and public same-domain images, and knows the scheme and its settings, not the key: every "
         "attack finds the block permutation π itself (docs/method.md §4 \"Finding π\"); *π given* is the same "
         "attack handed the true π, an upper bound. *m = 20*: 20 original/disguised pairs as well (π again "
         "estimated, now from the pairs too). "
         "*Key recovered*: the share of block positions at which a random probe image comes back exactly through "
         "the attack's estimated key; *π* the share of block positions whose place the attack found, and of "
         "pixels that land in their own place. *Linkage to any mixed image* (InstaHide): the reconstruction's best match "
         "is one of the k images its encoding mixes; *private images recovered*: the share of distinct private images some "
         "reconstruction links to (that way); *SSIM to the image recovered*: of those reconstructions, against the image "
         "they link to (Carlini et al.'s measure of how close the copies are). The peers' papers report CIFAR-10 (EtC, learnable) or "
         "CIFAR/ImageNet-scale settings with their own networks; no MNIST/Fashion-MNIST number of theirs is set "
         "beside ours (InstaHide's paper has MNIST results, not available to this project offline to quote).", ""]


def _as_int(text: str) -> int:
    return int(text) if text.isdigit() else 0


def _row(dataset, mech, name, source, base, trained, attacked) -> str:
    acc = values(trained, "test_acc")
    cost = fmt([b - a for b, a in zip(base, acc)]) if base and acc and mech != "none" else "—"
    level_a = _best([r for r in attacked if r.data.tags.get("threat_level") == "a" and not pi_given(r)])
    given = _best([r for r in attacked if r.data.tags.get("threat_level") == "a" and pi_given(r)])
    level_b = _best([r for r in attacked if r.data.tags.get("threat_level") == "b" and not pi_given(r)
                     and r.data.params.get("attack.known_pairs") == "20"])
    if mech == "instahide" and level_b[0] == "—":
        level_b = ("none applies (one-time keys)", "—", "—")
    setting = _setting(trained[0] if trained else attacked[0])
    return (f"| {dataset} | {name} ({source}) | {setting} | {fmt(acc)} | {cost} | {' | '.join(level_a)} | "
            f"{' | '.join(given)} | {' | '.join(level_b)} | {REPORTED[mech](dataset)} |")


def _details(dataset, name, attacked) -> list[str]:
    out = []
    for r in sorted(attacked, key=lambda r: (r.data.tags.get("threat_level", ""),
                                             -r.data.metrics.get("success_rate", 0))):
        m = r.data.metrics
        key = f"{m['key_recovered']:.0f}" if "key_recovered" in m else (
            f"π {m['permutation_recovered']:.0f}" + (f" (pixels {m['pixels_placed']:.0f})" if "pixels_placed" in m else "")
            if "permutation_recovered" in m and not pi_given(r) else "—")  # the jigsaw logs no pixel share
        out.append(f"| {dataset} | {name} ({_setting(r)}) | {_attack_name(r)} | {r.data.tags.get('threat_level')} | "
                   f"{r.data.params.get('attack.known_pairs', '?')} | {fmt(values([r], 'success_rate'))} | "
                   f"{fmt(values([r], 'success_rate_paper'))} | {fmt(values([r], 'linkage_rate'))} | "
                   f"{fmt(values([r], 'ssim'), 2)} | {key} | {fmt(values([r], 'linkage_rate_any'))} | "
                   f"{fmt(values([r], 'images_recovered'))} | {fmt(values([r], 'ssim_recovered'), 2)} |")
    return out


def reference_instahide(curve: Runs) -> Runs:
    """The trainings of experiment ``instahide_curve`` that follow InstaHide's reference recipe and network
    (ResNet-18, fresh encodings every epoch): the peers table's InstaHide accuracy."""
    return Runs(curve.experiment, curve.trained(**{"model.name": "resnet18", "mechanism.fresh_encodings": "True"}))


def peers_markdown(runs: Runs, command: str, instahide: Runs | None = None, challenge: Runs | None = None) -> str:
    """The peers table from the peers sweep's runs; InstaHide's accuracy from ``instahide`` (the reference
    recipe's trainings, :func:`reference_instahide`) where it has the dataset, else from the sweep's own; the
    attacks of ``challenge`` (the strongest attack of each kind, experiments/challenge.sh) on the same settings
    join the sweep's own."""
    compute = sum(values(runs.runs, "total_time_s")) / 60
    machine = next((r.data.tags["machine"] for r in runs.runs if "machine" in r.data.tags), "?")
    lines = ["# This paper's mechanisms beside the published alternatives", "",
             f"Made by `{command}` from the runs of MLflow experiment `{runs.experiment}` ({len(runs)} runs, "
             f"{compute:.1f} min of run time in all, on {machine}) "
             "of `python experiments/run.py --multirun experiment=peers` and `experiment=peers_dp` (conf/experiment/peers.yaml, peers_dp.yaml: CPU scale, "
             "AlexNet at a quarter width, 4 epochs, 45,000 training images, one fold). Accuracies and rates in %."
             + (f" InstaHide's accuracy is its reference recipe's ({len(instahide)} trainings of MLflow experiment "
                f"`{instahide.experiment}`, results/instahide_curve.md: ResNet-18 at a quarter width, 12 epochs, fresh "
                "encodings every epoch, soft mixed labels, clear test images); its utility cost is against the AlexNet "
                "baseline, which likely understates it (ResNet-18 on clear images was not trained)."
                if instahide is not None and len(instahide) else "")
             + (f" Beside the sweep's attacks, those of MLflow experiment `{challenge.experiment}` on the same "
                f"settings ({len(challenge.attacked())} attack runs of experiments/challenge.sh: EtC's statistics "
                "attack, the learned inverses of DP pixelization and InstaHide, fold 0, 45,000 owner images)."
                if challenge is not None and len(challenge) else ""), "",
             "| dataset | scheme | setting | accuracy | utility cost | level (a): best attack | success | linkage "
             "| level (a), π given (upper bound): best attack | success | linkage "
             "| m = 20: best attack | success | linkage | its paper reports (this dataset) |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    detail = ["", "## Every attack run", "",
              "| dataset | scheme | attack | level | m | success (robust) | success (paper-protocol) | linkage | SSIM "
              "| key recovered | linkage to any mixed image | private images recovered | SSIM to the image recovered |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for dataset in ("mnist", "fashion"):
        base = values(runs.trained(dataset=dataset, mechanism="none"), "test_acc")
        for mech, (name, source) in SCHEMES.items():
            mine = runs.select(dataset=dataset, mechanism=mech)
            groups = {(r.data.params.get("mechanism.block_size", ""), r.data.params.get("mechanism.epsilon", ""))
                      for r in mine}   # a row per block size (and per ε of DP pixelization; '' is ∞)
            for block, eps in sorted(groups, key=lambda g: (_as_int(g[0]), -float(g[1] or "inf"))):
                where = {"mechanism.block_size": block, "mechanism.epsilon": eps}
                trained = runs.trained(dataset=dataset, mechanism=mech, **where)
                if mech == "instahide" and instahide is not None and instahide.trained(dataset=dataset):
                    trained = instahide.trained(dataset=dataset)
                attacked = runs.attacked(dataset=dataset, mechanism=mech, **where)
                if challenge is not None:
                    attacked += challenge.attacked(dataset=dataset, mechanism=mech, **where)
                lines.append(_row(dataset, mech, name, source, base, trained, attacked))
                detail.extend(_details(dataset, name, attacked))
    return "\n".join(lines + NOTES + detail) + "\n"
